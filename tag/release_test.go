package tag

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
)

// releaseBody decodes the JSON the client sent for a release.
type releaseBody struct {
	TagName         string  `json:"tag_name"`
	TargetCommitish string  `json:"target_commitish"`
	Name            string  `json:"name"`
	Body            string  `json:"body"`
	Draft           bool    `json:"draft"`
	Prerelease      bool    `json:"prerelease"`
	MakeLatest      *string `json:"make_latest"`
}

func writes(fake *githubfake.Server) []githubfake.Request {
	var out []githubfake.Request
	for _, r := range fake.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func TestReleaseCreated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fake := w.withGitHub()
	rel := w.bump("1.1.0")
	got, err := w.tagger(Config{}, &GitHub{}).Tag(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if got.ReleaseURL != "https://github.com/acme/web/releases/tag/v1.1.0" {
		t.Fatalf("release URL %q", got.ReleaseURL)
	}
	rels := fake.Releases(ghRepo)
	if len(rels) != 1 || rels[0].Name != "v1.1.0" || rels[0].Body != rel.Notes || rels[0].Prerelease || rels[0].Draft || !rels[0].Latest {
		t.Fatalf("releases %+v", rels)
	}
	posts := fake.RequestsTo("POST", "/releases")
	var body releaseBody
	if err := posts[0].JSON(&body); err != nil {
		t.Fatal(err)
	}
	if body.TargetCommitish != rel.Commit || body.MakeLatest == nil || *body.MakeLatest != "true" {
		t.Fatalf("create body %s", posts[0].Body)
	}
	// A second run makes no write at all.
	fake.ResetRequests()
	if _, err := w.tagger(Config{}, &GitHub{}).Tag(context.Background(), rel); err != nil {
		t.Fatal(err)
	}
	if n := len(writes(fake)); n != 0 {
		t.Fatalf("second run wrote %d times: %+v", n, writes(fake))
	}
	if len(fake.Releases(ghRepo)) != 1 {
		t.Fatal("duplicate release")
	}
}

func TestReleaseFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		version    string
		otherTags  []string
		cfg        ReleaseConfig
		prerelease bool
		makeLatest string
	}{
		{"stable and highest", "1.1.0", []string{"v1.0.0", "v1.2.0-rc.1"}, ReleaseConfig{}, false, "true"},
		{"pre-release", "1.2.0-rc.1", []string{"v1.1.0"}, ReleaseConfig{}, true, "false"},
		{"maintenance release below a newer major", "1.0.5", []string{"v2.0.0"}, ReleaseConfig{}, false, "false"},
		{"other prefixes do not count", "1.1.0", []string{"api/v9.0.0", "v1.0.0"}, ReleaseConfig{}, false, "true"},
		{"forced", "1.0.5", []string{"v2.0.0"}, ReleaseConfig{MakeLatest: "legacy", Prerelease: "true"}, true, "legacy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			fake := w.withGitHub()
			for _, tg := range tc.otherTags {
				w.git(w.work, "tag", "-a", "-m", tg, tg)
			}
			// A newer tag that exists only on the remote counts too.
			other := w.clone("other")
			w.git(other, "tag", "-a", "-m", "x", "v0.0.1")
			w.git(other, "push", "--quiet", "origin", "v0.0.1")
			rel := w.bump(tc.version)
			if _, err := w.tagger(Config{}, &GitHub{Release: tc.cfg}).Tag(context.Background(), rel); err != nil {
				t.Fatal(err)
			}
			var body releaseBody
			if err := fake.RequestsTo("POST", "/releases")[0].JSON(&body); err != nil {
				t.Fatal(err)
			}
			if body.Prerelease != tc.prerelease || body.MakeLatest == nil || *body.MakeLatest != tc.makeLatest {
				t.Fatalf("prerelease %v make_latest %v, want %v %q", body.Prerelease, *body.MakeLatest, tc.prerelease, tc.makeLatest)
			}
		})
	}
	t.Run("a remote-only higher tag stops make_latest", func(t *testing.T) {
		w := newWorld(t)
		fake := w.withGitHub()
		other := w.clone("other")
		w.git(other, "tag", "-a", "-m", "x", "v3.0.0")
		w.git(other, "push", "--quiet", "origin", "v3.0.0")
		if _, err := w.tagger(Config{}, &GitHub{}).Tag(context.Background(), w.bump("1.1.0")); err != nil {
			t.Fatal(err)
		}
		var body releaseBody
		_ = fake.RequestsTo("POST", "/releases")[0].JSON(&body)
		if *body.MakeLatest != "false" {
			t.Fatalf("make_latest %q", *body.MakeLatest)
		}
	})
}

func TestExistingReleases(t *testing.T) {
	t.Parallel()
	t.Run("a draft left behind is published, not duplicated", func(t *testing.T) {
		w := newWorld(t)
		fake := w.withGitHub()
		fake.AddRelease(ghRepo, githubfake.ReleaseInfo{TagName: "v1.1.0", Name: "draft", Body: "wip", Draft: true})
		got, err := w.tagger(Config{}, &GitHub{}).Tag(context.Background(), w.bump("1.1.0"))
		if err != nil {
			t.Fatal(err)
		}
		rels := fake.Releases(ghRepo)
		if len(rels) != 1 || rels[0].Draft || rels[0].Name != "v1.1.0" || !strings.HasPrefix(rels[0].Body, "### Added") {
			t.Fatalf("releases %+v", rels)
		}
		if got.ReleaseURL != "https://github.com/acme/web/releases/tag/v1.1.0" || len(fake.RequestsTo("POST", "/releases")) != 0 || len(fake.RequestsTo("PATCH", "/releases/")) != 1 {
			t.Fatalf("url %q, requests %+v", got.ReleaseURL, writes(fake))
		}
	})
	t.Run("a published release with other notes is updated, and stays published with draft configured", func(t *testing.T) {
		w := newWorld(t)
		fake := w.withGitHub()
		fake.AddRelease(ghRepo, githubfake.ReleaseInfo{TagName: "v1.1.0", Name: "v1.1.0", Body: "old"})
		if _, err := w.tagger(Config{}, &GitHub{Release: ReleaseConfig{Draft: true}}).Tag(context.Background(), w.bump("1.1.0")); err != nil {
			t.Fatal(err)
		}
		rels := fake.Releases(ghRepo)
		if len(rels) != 1 || rels[0].Draft || !strings.HasPrefix(rels[0].Body, "### Added") {
			t.Fatalf("releases %+v", rels)
		}
	})
	t.Run("someone creates it between our lookup and our create", func(t *testing.T) {
		w := newWorld(t)
		fake := w.withGitHub()
		// The create fails with a 502 after the release was made: the
		// client retries it into 422 already_exists, then reconciles.
		fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 502, AfterEffect: true, Method: "POST", Path: "/releases"})
		got, err := w.tagger(Config{}, &GitHub{}).Tag(context.Background(), w.bump("1.1.0"))
		if err != nil {
			t.Fatal(err)
		}
		if len(fake.Releases(ghRepo)) != 1 || got.ReleaseURL == "" {
			t.Fatalf("releases %+v", fake.Releases(ghRepo))
		}
	})
	t.Run("an unreadable create answer is re-read, not repeated", func(t *testing.T) {
		w := newWorld(t)
		fake := w.withGitHub()
		fake.Inject(githubfake.Fault{Kind: githubfake.FaultMalformedJSON, Method: "POST", Path: "/releases"})
		got, err := w.tagger(Config{}, &GitHub{}).Tag(context.Background(), w.bump("1.1.0"))
		if err != nil || got.ReleaseURL == "" || len(fake.Releases(ghRepo)) != 1 || len(fake.RequestsTo("POST", "/releases")) != 1 {
			t.Fatalf("err %v, releases %+v", err, fake.Releases(ghRepo))
		}
	})
}

// TestFailureAfterPushThenRerun is the complaint from semantic-release and
// release-please users: the tag was pushed, the release was not created.
// The second run must create the release and do nothing else.
func TestFailureAfterPushThenRerun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fake := w.withGitHub()
	rel := w.bump("1.1.0")
	fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 503, Method: "POST", Path: "/releases", Times: 100})

	_, err := w.tagger(Config{}, &GitHub{MaxRetries: 2}).Tag(context.Background(), rel)
	if err == nil || !strings.Contains(err.Error(), "GitHub Release is missing (run again") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("first run: %v", err)
	}
	if w.remoteRef("refs/tags/v1.1.0") != rel.Commit || len(fake.Releases(ghRepo)) != 0 {
		t.Fatal("the first run should have pushed the tag and made no release")
	}
	tagObject := w.git(w.work, "rev-parse", "refs/tags/v1.1.0")

	// The second run must not push: the remote now refuses every push.
	hook := filepath.Join(w.remote, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'pushes are closed' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fake.ClearFaults()
	fake.ResetRequests()

	got, err := w.tagger(Config{}, &GitHub{}).Tag(context.Background(), rel)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if got.ReleaseURL != "https://github.com/acme/web/releases/tag/v1.1.0" || len(fake.Releases(ghRepo)) != 1 {
		t.Fatalf("second run: %+v, releases %+v", got, fake.Releases(ghRepo))
	}
	if obj := w.git(w.work, "rev-parse", "refs/tags/v1.1.0"); obj != tagObject {
		t.Fatal("the tag was recreated")
	}
	ws := writes(fake)
	if len(ws) != 1 || ws[0].Method != "POST" || ws[0].Path != "/repos/acme/web/releases" {
		t.Fatalf("second run wrote %+v, want only the release creation", ws)
	}
}

func TestGitHubEnterpriseAndRateLimits(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fake := w.withGitHub()
	fake.ExhaustRateLimit(http.StatusTooManyRequests, 90*time.Second)
	start := w.clock.Now()
	got, err := w.tagger(Config{}, &GitHub{APIURL: fake.GHESURL()}).Tag(context.Background(), w.bump("1.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ReleaseURL == "" || w.clock.Now().Sub(start) < 90*time.Second {
		t.Fatalf("release %q after waiting %s", got.ReleaseURL, w.clock.Now().Sub(start))
	}
	for _, r := range fake.Requests() {
		if !r.GHES {
			t.Fatalf("request outside /api/v3: %+v", r)
		}
	}
	if !strings.Contains(w.logs.String(), "rate limit") {
		t.Fatal("the rate-limit wait was not reported")
	}

	// A limit that resets beyond max_rate_limit_wait fails with the reset time,
	// after the tag was pushed, and says a rerun will finish.
	w2 := newWorld(t)
	fake2 := w2.withGitHub()
	fake2.ExhaustRateLimit(http.StatusForbidden, 2*time.Hour)
	_, err = w2.tagger(Config{}, &GitHub{MaxRateLimitWait: time.Minute}).Tag(context.Background(), w2.bump("1.1.0"))
	if err == nil || !strings.Contains(err.Error(), "rate limit resets at") || !strings.Contains(err.Error(), "run again") {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), ghToken) {
		t.Fatal("token in error")
	}
	if n := fake2.RequestCount(); n != 1 {
		t.Fatalf("a rate limit beyond the allowed wait must not be hammered: %d requests", n)
	}
}

func TestWrongTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.withGitHub()
	env := w.envFor(&GitHub{})
	env.Getenv = func(string) string { return "ghp_WRONGSECRET_9999" }
	tg, err := New(context.Background(), Config{}, env)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Tag(context.Background(), w.bump("1.1.0"))
	var rejected *shipprod.PushRejectedError
	if err == nil || errors.As(err, &rejected) || !strings.Contains(err.Error(), "401 Bad credentials") {
		t.Fatalf("err %v", err)
	}
	for _, out := range []string{err.Error(), w.logs.String()} {
		if strings.Contains(out, "ghp_WRONGSECRET") {
			t.Fatalf("token leaked: %s", out)
		}
	}
	// The Tagger has no exported field to marshal; what can show it is fmt
	// (String, and %#v, which prints every field of the struct).
	for _, form := range []string{fmt.Sprint(tg), fmt.Sprintf("%+v", tg), fmt.Sprintf("%#v", tg)} {
		if strings.Contains(form, "ghp_") {
			t.Fatalf("token reachable through the Tagger's printed form: %s", form)
		}
	}
}
