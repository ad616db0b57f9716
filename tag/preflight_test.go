package tag

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
)

// decided is the release as the pre-flight sees it: decided at HEAD, the
// version commit not made yet.
func (w *world) decided(version string) shipprod.Release {
	return shipprod.Release{Version: version, Tag: "v" + version, Base: w.git(w.work, "rev-parse", "HEAD")}
}

// remoteState is everything the remote has, to tell that nothing changed.
func (w *world) remoteState() string {
	return w.git(w.remote, "for-each-ref", "--format=%(refname) %(objectname)")
}

func TestPreflightChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.withGitHub()
	tg := w.tagger(Config{}, &GitHub{})
	before := w.remoteState()
	if err := tg.Preflight(context.Background(), w.decided("1.1.0")); err != nil {
		t.Fatal(err)
	}
	if after := w.remoteState(); after != before {
		t.Fatalf("the pre-flight changed the remote:\n%s\n→\n%s", before, after)
	}
	if _, ok := w.gitMay(w.work, "rev-parse", "--verify", "--quiet", "refs/tags/v1.1.0"); ok {
		t.Fatal("the pre-flight made a tag")
	}
	if w.fake.Writes() != 0 || len(w.fake.RequestsTo("GET", "/repos/acme/web")) != 1 {
		t.Fatalf("GitHub requests: %+v", w.fake.Requests())
	}
	for _, r := range w.fake.Requests() {
		t.Logf("pre-flight GitHub request: %s %s → %d", r.Method, r.Path, r.Status)
	}
	// The release commit exists (a run resumed at the tag step): fine too.
	if err := tg.Preflight(context.Background(), w.bump("1.1.0")); err != nil {
		t.Fatal(err)
	}
}

func TestPreflightFindsTheTagAnotherCloneReleased(t *testing.T) {
	w := newWorld(t)
	other := w.clone("other")
	sha := w.commit(other, "x.txt", "x", "their release")
	w.git(other, "push", "--quiet", "origin", "HEAD:refs/heads/topic")
	w.git(other, "tag", "-a", "-m", "theirs", "v1.1.0", sha)
	w.git(other, "push", "--quiet", "origin", "v1.1.0")
	before := w.remoteState()
	err := w.tagger(Config{}, nil).Preflight(context.Background(), w.decided("1.1.0"))
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Existing != sha || ce.Where != "on remote origin" || !strings.Contains(err.Error(), "another clone released v1.1.0 first") {
		t.Fatalf("err %v", err)
	}
	if w.remoteState() != before {
		t.Fatal("the pre-flight changed the remote")
	}
	// In a Pipeline, the run stops at the pre-flight, before the tag step.
	res, err := (&shipprod.Pipeline{Release: w.decided("1.1.0"), Tagger: w.tagger(Config{}, nil)}).Run(context.Background())
	var pe *shipprod.PreflightError
	if !errors.As(err, &pe) || !errors.As(err, &ce) {
		t.Fatalf("pipeline: %v", err)
	}
	if st, _ := res.Step(shipprod.StepTag); st.Status != shipprod.StepSkipped {
		t.Fatalf("the tag step %s after a failed pre-flight", st.Status)
	}
}

func TestPreflightDryRunsThePush(t *testing.T) {
	w := newWorld(t)
	// Meanwhile someone pushes to main: the release would not be a fast-forward.
	other := w.clone("other")
	w.commit(other, "feature.txt", "x", "feat: someone else")
	w.git(other, "push", "--quiet", "origin", "main")
	before := w.remoteState()
	err := w.tagger(Config{}, nil).Preflight(context.Background(), w.decided("1.1.0"))
	var rej *shipprod.PushRejectedError
	if !errors.As(err, &rej) || !strings.Contains(rej.Hint, "a dry run of the release push was refused") || !strings.Contains(rej.Hint, "git pull --rebase --autostash origin main") {
		t.Fatalf("err %v", err)
	}
	if w.remoteState() != before {
		t.Fatal("the dry run changed the remote")
	}

	// A remote that does not exist.
	w2 := newWorld(t)
	env := w2.envFor(nil)
	env.Git.Remote = w2.root + "/nope.git"
	tg, err := New(context.Background(), Config{}, env)
	if err != nil {
		t.Fatal(err)
	}
	err = tg.Preflight(context.Background(), w2.decided("1.1.0"))
	if err == nil || !strings.HasPrefix(err.Error(), "git.remote: remote ") || !strings.Contains(err.Error(), "nope.git") {
		t.Fatalf("missing remote: %v", err)
	}
}

func TestLoadTimeChecks(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		mod  func(*Config, *Env)
		want string
	}{
		{"unknown remote", func(_ *Config, e *Env) { e.Git.Remote = "upstream" }, `git.remote: no git remote "upstream"; the repository has origin`},
		{"unknown field in the message", func(c *Config, _ *Env) { c.Message = "Release {{.Tag}} by {{.Author}}" }, "tag.message: "},
		{"unknown field in the release name", func(_ *Config, e *Env) {
			e.GitHub = &GitHub{Repository: ghRepo, Release: ReleaseConfig{Name: "{{.Title}}"}}
		}, "github.release.name: "},
	} {
		cfg, env := Config{}, w.envFor(nil)
		tc.mod(&cfg, &env)
		_, err := New(context.Background(), cfg, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
	// A URL or a path is a remote too.
	env := w.envFor(nil)
	env.Git.Remote = w.remote
	if _, err := New(context.Background(), Config{}, env); err != nil {
		t.Fatalf("a path as the remote: %v", err)
	}
}

func TestPreflightChecksTheGitHubToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(w *world, env *Env)
		want  string
	}{
		{"revoked token", func(_ *world, env *Env) {
			env.Getenv = func(k string) string { return map[string]string{"GH_TOKEN": "ghp_revoked"}[k] }
		}, "github: the token in GH_TOKEN (read before GITHUB_TOKEN) is not valid"},
		{"read-only token", func(w *world, _ *Env) { w.fake.AddRepo(ghRepo, githubfake.RepoOptions{ReadOnly: true}) },
			"github: the token in GITHUB_TOKEN may only read acme/web, and shipprod needs contents: write"},
		{"unknown repository", func(_ *world, env *Env) { env.GitHub.Repository = "acme/gone" },
			"github: repository acme/gone does not exist, or the token in GITHUB_TOKEN cannot see it"},
	} {
		w := newWorld(t)
		w.withGitHub()
		env := w.envFor(&GitHub{})
		tc.setup(w, &env)
		tg, err := New(context.Background(), Config{}, env)
		if err != nil {
			t.Fatal(err)
		}
		err = tg.Preflight(context.Background(), w.decided("1.1.0"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), ghToken) || w.fake.Writes() != 0 {
			t.Errorf("%s: the token leaked or something was written", tc.name)
		}
	}
}
