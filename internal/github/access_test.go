package github

import (
	"context"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/shipprodtest"
)

func TestCheckAccess(t *testing.T) {
	ctx := context.Background()
	t.Run("writer", func(t *testing.T) {
		h := newHarness(t, nil)
		a, err := h.c.CheckAccess(ctx, "contents: write")
		if err != nil || !a.Known || !a.Push || a.DefaultBranch != "main" {
			t.Fatalf("access %+v, err %v", a, err)
		}
		if h.fake.Writes() != 0 || len(h.fake.RequestsTo("GET", "/repos/acme/web")) != 1 {
			t.Fatalf("requests %+v", h.fake.Requests())
		}
	})
	t.Run("reader", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.AddRepo(testRepo, githubfake.RepoOptions{ReadOnly: true})
		_, err := h.c.CheckAccess(ctx, "contents: write, for the release tag")
		if err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN may only read acme/web") || !strings.Contains(err.Error(), "contents: write, for the release tag") {
			t.Fatalf("a read-only token: %v", err)
		}
	})
	for _, tt := range []struct{ name, tokenEnv, env, want string }{
		{"invalid token", "", "GH_TOKEN", "the token in GH_TOKEN (read before GITHUB_TOKEN) is not valid (GitHub answered 401 Bad credentials)"},
		{"invalid GITHUB_TOKEN", "", "GITHUB_TOKEN", "the token in GITHUB_TOKEN (GH_TOKEN is not set) is not valid (GitHub answered 401 Bad credentials)"},
		{"invalid configured token", "GITHUB_TOKEN", "GITHUB_TOKEN", "the token in GITHUB_TOKEN is not valid (GitHub answered 401 Bad credentials)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) {
				o.TokenEnv = tt.tokenEnv
				o.Getenv = func(k string) string { return map[string]string{tt.env: "ghp_revoked0000"}[k] }
			})
			_, err := h.c.CheckAccess(ctx, "contents: write")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("a revoked token: %v, want %q", err, tt.want)
			}
			if StatusOf(err) != 401 {
				t.Fatalf("the API error is wrapped: %v", err)
			}
			noToken(t, err)
		})
	}
	t.Run("unknown repository", func(t *testing.T) {
		h := newHarness(t, func(o *Options) { o.Repository = "acme/nope" })
		_, err := h.c.CheckAccess(ctx, "contents: write")
		if err == nil || !strings.Contains(err.Error(), "repository acme/nope does not exist, or the token in GITHUB_TOKEN cannot see it") {
			t.Fatalf("an unknown repository: %v", err)
		}
	})
	t.Run("installation token", func(t *testing.T) {
		// Actions' GITHUB_TOKEN: the repository answer does not say what it
		// may write, so a reader's permissions are not held against it.
		inst := "ghs_installationtoken000000000000000000"
		clock := shipprodtest.NewClock(epoch)
		fake := githubfake.NewT(t, githubfake.Options{Clock: clock, Token: inst})
		fake.AddRepo(testRepo, githubfake.RepoOptions{ReadOnly: true})
		c, err := New(ctx, Options{Repository: testRepo, APIURL: fake.APIURL(), Clock: clock,
			Getenv: func(k string) string { return map[string]string{"GITHUB_TOKEN": inst}[k] }})
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.CheckAccess(ctx, "contents: write")
		if err != nil || a.Known {
			t.Fatalf("access %+v, err %v", a, err)
		}
	})
}
