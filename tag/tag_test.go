package tag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
)

func TestTagCreatesAnnotatedTagAndPushesAtomically(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rel := w.bump("1.1.0")
	got, err := w.tagger(Config{}, nil).Tag(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tag != "v1.1.0" || got.Remote != "origin" || got.Branch != "main" || got.Commit != rel.Commit || got.ReleaseURL != "" {
		t.Fatalf("release %+v", got)
	}
	if typ := w.git(w.work, "cat-file", "-t", "v1.1.0"); typ != "tag" {
		t.Fatalf("tag object type %q, want an annotated tag", typ)
	}
	if msg := w.git(w.work, "for-each-ref", "--format=%(contents)", "refs/tags/v1.1.0"); msg != "Release v1.1.0\n\n### Added\n- release 1.1.0" {
		t.Fatalf("tag message %q", msg)
	}
	if c := w.remoteRef("refs/tags/v1.1.0"); c != rel.Commit {
		t.Fatalf("remote tag at %q, want %s", c, rel.Commit)
	}
	if c := w.remoteRef("refs/heads/main"); c != rel.Commit {
		t.Fatalf("remote main at %q, want the bump commit %s", c, rel.Commit)
	}

	// Running again reuses everything.
	again, err := w.tagger(Config{}, nil).Tag(context.Background(), rel)
	if err != nil || again.Tag != got.Tag || again.Commit != got.Commit {
		t.Fatalf("second run: %+v %v", again, err)
	}
}

func TestTagWithoutCommitUsesHEADAndDefaultPrefix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rel := w.bump("2.0.0")
	got, err := w.tagger(Config{Prefix: "release-"}, nil).Tag(context.Background(), shipprod.Release{Version: "2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tag != "release-2.0.0" || got.Commit != rel.Commit || w.remoteRef("refs/tags/release-2.0.0") != rel.Commit {
		t.Fatalf("release %+v", got)
	}
}

func TestTagConflicts(t *testing.T) {
	t.Parallel()
	t.Run("local tag at another commit", func(t *testing.T) {
		w := newWorld(t)
		old := w.git(w.work, "rev-parse", "HEAD")
		w.git(w.work, "tag", "-a", "-m", "oops", "v1.1.0", old)
		rel := w.bump("1.1.0")
		_, err := w.tagger(Config{}, nil).Tag(context.Background(), rel)
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Existing != old || ce.Release != rel.Commit || ce.Where != "locally" {
			t.Fatalf("err %v", err)
		}
		if !strings.Contains(err.Error(), old) || !strings.Contains(err.Error(), rel.Commit) {
			t.Fatalf("the message must name both commits: %v", err)
		}
		if w.remoteRef("refs/tags/v1.1.0") != "" || w.remoteRef("refs/heads/main") == rel.Commit {
			t.Fatal("nothing may be pushed after a conflict")
		}
	})
	t.Run("remote tag at another commit", func(t *testing.T) {
		w := newWorld(t)
		other := w.clone("other")
		sha := w.commit(other, "x.txt", "x", "someone else's commit")
		w.git(other, "push", "--quiet", "origin", "HEAD:refs/heads/topic")
		w.git(other, "tag", "-a", "-m", "theirs", "v1.1.0", sha)
		w.git(other, "push", "--quiet", "origin", "v1.1.0")
		rel := w.bump("1.1.0")
		_, err := w.tagger(Config{}, nil).Tag(context.Background(), rel)
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Existing != sha || ce.Where != "on remote origin" {
			t.Fatalf("err %v", err)
		}
		if _, ok := w.gitMay(w.work, "rev-parse", "--verify", "--quiet", "refs/tags/v1.1.0"); ok {
			t.Fatal("no local tag may be created after a conflict")
		}
	})
}

func TestRemoteOnlyTagIsFetchedAndVerified(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rel := w.bump("1.1.0")
	w.git(w.work, "push", "--quiet", "origin", "main")
	// Another machine tagged the same commit and pushed the tag.
	other := w.clone("other")
	w.git(other, "tag", "-a", "-m", "Release v1.1.0", "v1.1.0", rel.Commit)
	w.git(other, "push", "--quiet", "origin", "v1.1.0")
	theirs := w.git(other, "rev-parse", "v1.1.0")

	got, err := w.tagger(Config{}, nil).Tag(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if mine := w.git(w.work, "rev-parse", "v1.1.0"); mine != theirs {
		t.Fatalf("local tag object %s, want the fetched %s", mine, theirs)
	}
	if got.Commit != rel.Commit || !strings.Contains(w.logs.String(), "fetched the release tag") {
		t.Fatalf("release %+v; logs:\n%s", got, w.logs)
	}
}

func TestLocalTagAtSameCommitIsPushed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rel := w.bump("1.1.0")
	w.git(w.work, "tag", "-a", "-m", "made by hand", "v1.1.0", rel.Commit)
	if _, err := w.tagger(Config{}, nil).Tag(context.Background(), rel); err != nil {
		t.Fatal(err)
	}
	if w.remoteRef("refs/tags/v1.1.0") != rel.Commit || w.remoteRef("refs/heads/main") != rel.Commit {
		t.Fatal("the reused local tag and the commit must be pushed")
	}
	if msg := w.git(w.work, "for-each-ref", "--format=%(contents)", "refs/tags/v1.1.0"); msg != "made by hand" {
		t.Fatalf("an existing tag must not be rewritten, message %q", msg)
	}
}

func TestConcurrentPushMakesAtomicPushFail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rel := w.bump("1.1.0")
	// Meanwhile someone pushes to main.
	other := w.clone("other")
	theirs := w.commit(other, "feature.txt", "x", "feat: someone else")
	w.git(other, "push", "--quiet", "origin", "main")

	_, err := w.tagger(Config{}, nil).Tag(context.Background(), rel)
	var rej *shipprod.PushRejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("want a *shipprod.PushRejectedError, got %T %v", err, err)
	}
	if !strings.Contains(rej.Hint, "git pull --rebase --autostash origin main") || !strings.Contains(rej.Hint, "no tag reached") {
		t.Fatalf("hint %q", rej.Hint)
	}
	if c := w.remoteRef("refs/tags/v1.1.0"); c != "" {
		t.Fatalf("orphan tag on the remote at %s", c)
	}
	if c := w.remoteRef("refs/heads/main"); c != theirs {
		t.Fatalf("remote main moved to %s", c)
	}
	if _, ok := w.gitMay(w.work, "rev-parse", "--verify", "--quiet", "refs/tags/v1.1.0"); ok {
		t.Fatal("the tag this run created must be removed after the rejection")
	}

	// The recovery the hint describes works.
	w.git(w.work, "pull", "--quiet", "--rebase", "origin", "main")
	rel.Commit = w.git(w.work, "rev-parse", "HEAD")
	if _, err := w.tagger(Config{}, nil).Tag(context.Background(), rel); err != nil {
		t.Fatalf("after the rebase: %v", err)
	}
	if w.remoteRef("refs/tags/v1.1.0") != rel.Commit {
		t.Fatal("tag not pushed after recovery")
	}
}

func TestSignedTags(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("signs with ssh-keygen; skipped with -short")
	}
	if _, err := os.Stat("/usr/bin/ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed (apt-get install openssh-client)")
	}
	for _, tc := range []struct {
		name string
		cfg  func(key string) Config
	}{
		{"sign with git's signing key", func(string) Config { return Config{Sign: true} }},
		{"sign with an explicit key", func(key string) Config { return Config{SigningKey: key} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			key := filepath.Join(w.root, "id_ed25519")
			if out, err := runCmd(w.root, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test@example.com", "-f", key); err != nil {
				t.Fatalf("ssh-keygen: %v %s", err, out)
			}
			pub, _ := os.ReadFile(key + ".pub")
			allowed := filepath.Join(w.root, "allowed_signers")
			if err := os.WriteFile(allowed, []byte("test@example.com "+string(pub)), 0o644); err != nil {
				t.Fatal(err)
			}
			w.git(w.work, "config", "gpg.format", "ssh")
			w.git(w.work, "config", "gpg.ssh.allowedSignersFile", allowed)
			if tc.name == "sign with git's signing key" {
				w.git(w.work, "config", "user.signingkey", key)
			}
			rel := w.bump("1.1.0")
			if _, err := w.tagger(tc.cfg(key), nil).Tag(context.Background(), rel); err != nil {
				t.Fatal(err)
			}
			out, ok := w.gitMay(w.work, "tag", "-v", "v1.1.0")
			if !ok || !strings.Contains(out, "Good \"git\" signature") {
				t.Fatalf("signature not verified:\n%s", out)
			}
		})
	}
	t.Run("a signing failure says where to look", func(t *testing.T) {
		w := newWorld(t)
		w.git(w.work, "config", "gpg.format", "ssh")
		rel := w.bump("1.1.0")
		_, err := w.tagger(Config{SigningKey: filepath.Join(w.root, "missing-key")}, nil).Tag(context.Background(), rel)
		if err == nil || !strings.Contains(err.Error(), "user.signingkey") {
			t.Fatalf("err %v", err)
		}
		if w.remoteRef("refs/tags/v1.1.0") != "" {
			t.Fatal("nothing may be pushed")
		}
	})
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, tc := range []struct {
		cfg  Config
		gh   *GitHub
		env  func(*Env)
		want string
	}{
		{cfg: Config{Message: "Release {{.Tag"}, want: "tag.message"},
		{cfg: Config{SigningKey: "--exec=evil"}, want: "tag.signing_key"},
		{env: func(e *Env) { e.Git.Branch = "bad..branch" }, want: "git.branch"},
		{env: func(e *Env) { e.Git.Remote = "--upload-pack=evil" }, want: "git.remote"},
		{gh: &GitHub{Release: ReleaseConfig{MakeLatest: "yes"}}, want: "github.release.make_latest"},
		{gh: &GitHub{Release: ReleaseConfig{Name: "{{"}}, want: "github.release.name"},
		{gh: &GitHub{}, env: func(e *Env) { e.Getenv = func(string) string { return "" } }, want: "GH_TOKEN or GITHUB_TOKEN"},
		{gh: &GitHub{TokenEnv: "RELEASE_TOKEN"}, want: "RELEASE_TOKEN"},
		{gh: &GitHub{Repository: "", APIURL: "http://127.0.0.1:1/"}, want: "github.repository"},
	} {
		env := w.envFor(tc.gh)
		if tc.env != nil {
			tc.env(&env)
		}
		_, err := New(context.Background(), tc.cfg, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v %+v: got %v, want an error naming %q", tc.cfg, tc.gh, err, tc.want)
		}
	}
	_, err := w.tagger(Config{}, nil).Tag(context.Background(), shipprod.Release{Version: "1.0.0", Tag: "v1..0"})
	if err == nil || !strings.Contains(err.Error(), "invalid git ref name") {
		t.Fatalf("bad tag name: %v", err)
	}
}

var fullSHA = regexp.MustCompile(`\b[0-9a-f]{40}\b`)

func TestPlanActionsAreStableAndSeparate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.withGitHub()
	tg := w.tagger(Config{Sign: true}, &GitHub{})
	planned := shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", PreviousVersion: "1.0.0"}
	rel := w.bump("1.1.0")
	rel.PreviousVersion = "1.0.0"
	a, err := tg.PlanActions(context.Background(), planned)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tg.PlanActions(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("plan before and after the version commit differ:\n%s\n%s", ja, jb)
	}
	kinds := []shipprod.ActionKind{shipprod.ActionTag, shipprod.ActionPush, shipprod.ActionAPI}
	if len(a) != 3 {
		t.Fatalf("actions %+v", a)
	}
	for i, act := range a {
		if act.Kind != kinds[i] || fullSHA.MatchString(act.Description) {
			t.Errorf("action %d: %+v", i, act)
		}
	}
	if !strings.Contains(a[1].Description, "origin/main") || !strings.Contains(a[2].Description, "acme/web") || !strings.Contains(a[0].Description, "signed") {
		t.Fatalf("descriptions %+v", a)
	}
	// Planning changed nothing.
	if _, ok := w.gitMay(w.work, "rev-parse", "--verify", "--quiet", "refs/tags/v1.1.0"); ok || w.fake.RequestCount() != 0 {
		t.Fatal("PlanActions must not act")
	}
}

// TestPipelinePlanMatchesRun runs the Tagger inside a real Pipeline: the
// plan lists exactly the actions the run reports.
func TestPipelinePlanMatchesRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.withGitHub()
	rel := w.bump("1.1.0")
	p := &shipprod.Pipeline{Tagger: w.tagger(Config{}, &GitHub{}), Release: rel, Clock: w.clock}
	plan, err := p.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	step, _ := res.Step(shipprod.StepTag)
	var planned []shipprod.Action
	for _, s := range plan.Steps {
		if s.Step == shipprod.StepTag {
			planned = s.Actions
		}
	}
	jp, _ := json.Marshal(planned)
	jr, _ := json.Marshal(step.Actions)
	if string(jp) != string(jr) || len(planned) != 3 {
		t.Fatalf("plan %s\nrun  %s", jp, jr)
	}
	if res.Release.ReleaseURL != "https://github.com/acme/web/releases/tag/v1.1.0" || res.Release.Commit != rel.Commit || res.Release.Tag != "v1.1.0" {
		t.Fatalf("result release %+v", res.Release)
	}
	out, _ := json.Marshal(res)
	if strings.Contains(string(out), ghToken) {
		t.Fatal("the token appears in the result")
	}
}

// BenchmarkTagAndRelease measures one release: annotated tag, atomic push
// to a local bare remote, and the GitHub Release against the fake API.
func BenchmarkTagAndRelease(b *testing.B) {
	w := newWorld(b)
	w.withGitHub()
	tg := w.tagger(Config{}, &GitHub{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rel := w.bump(fmt.Sprintf("1.0.%d", i+1))
		b.StartTimer()
		if _, err := tg.Tag(context.Background(), rel); err != nil {
			b.Fatal(err)
		}
	}
}
