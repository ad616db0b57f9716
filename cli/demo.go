package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/shipprod/shipprod/internal/git"
)

// demo makes a throw-away project (a git repository with an approved
// Spec-Flow state file, package.json, VERSION and CHANGELOG.md, and a local
// bare remote), starts a loopback HTTP server as its "production" — it
// serves whatever the remote's production branch holds — and ships the
// project there with the git-push deployer, through the same code path as
// `shipprod ship --yes`.
func demo(ctx context.Context, o options, stdout, stderr io.Writer, logger *slog.Logger) error {
	root, err := os.MkdirTemp("", "shipprod-demo-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(root)
	}
	work := filepath.Join(root, "demo-app")
	remote := filepath.Join(root, "origin.git")

	prod, err := startProduction(remote)
	if err != nil {
		return err
	}
	defer prod.Close()

	if err := makeDemoProject(ctx, work, remote, prod.URL); err != nil {
		return fmt.Errorf("making the demo project: %w", err)
	}
	if o.json {
		if err := jsonOut(o, stdout).write(SchemaDemo, JSONDemo{Project: work, Remote: remote, Production: prod.URL, Kept: o.keep}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "Demo project: %s\nProduction:   %s (serves the production branch of %s)\n\n", work, prod.URL, remote)
	}
	o.dir, o.config, o.yes = work, "shipprod.yaml", true
	s, err := open(ctx, o, logger)
	if err != nil {
		return err
	}
	if err := runPipeline(ctx, s.pipeline, o, nil, stdout); err != nil {
		return err
	}
	if !o.json {
		served, _ := prod.servedVersion()
		fmt.Fprintf(stdout, "\nProduction now serves version %s.\n", served)
		state := filepath.ToSlash(filepath.Join("specs", demoFeature, "state.yaml"))
		if diff, err := git.Open(work).Run(ctx, "diff", "--no-color", "--", state); err == nil && diff != "" {
			fmt.Fprintf(stdout, "\nThe run is recorded in the Spec-Flow state file (git diff -- %s):\n\n%s\n", state, diff)
		}
		if o.keep {
			fmt.Fprintf(stdout, "Read the report: cat %s\nRemove the demo when done: rm -rf %s\n",
				filepath.Join(work, "specs", demoFeature, "production-ship-report.md"), root)
		} else {
			fmt.Fprintln(stdout, "The demo project was removed (keep it with --keep to read its report).")
		}
	}
	return nil
}

const demoFeature = "001-checkout-passkeys"

// production is the demo's production server.
type production struct {
	URL    string
	remote *git.Repo
	srv    *http.Server
	// broken is a version whose health endpoint fails (for tests).
	broken atomic.Value
}

func startProduction(remote string) (*production, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &production{URL: "http://" + ln.Addr().String(), remote: git.Open(remote)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.servedVersion()
		w.Header().Set("Content-Type", "application/health+json")
		if err == nil && p.broken.Load() == v {
			err = fmt.Errorf("version %s cannot reach its database", v)
		}
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]any{"status": "fail", "output": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "pass", "version": v,
			"checks": map[string]any{"git:production-branch": []map[string]string{{"status": "pass"}}}})
	})
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.servedVersion()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"version": v})
	})
	p.srv = &http.Server{Handler: mux}
	go p.srv.Serve(ln)
	return p, nil
}

// servedVersion is the version in package.json on the remote's production branch.
func (p *production) servedVersion() (string, error) {
	out, err := p.remote.Run(context.Background(), "show", "refs/heads/production:package.json")
	if err != nil {
		return "", fmt.Errorf("nothing deployed: %w", err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal([]byte(out), &pkg); err != nil {
		return "", err
	}
	return pkg.Version, nil
}

func (p *production) Close() { p.srv.Close() }

// makeDemoProject creates the project with v1.2.0 released and deployed,
// and a feature and a fix since.
func makeDemoProject(ctx context.Context, work, remote, prodURL string) error {
	r := git.Open(work)
	steps := [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=main", "--", remote},
		{"init", "--quiet", "--initial-branch=main", "--", work},
	}
	for _, args := range steps {
		if _, err := git.Open(filepath.Dir(work)).Run(ctx, args...); err != nil {
			return err
		}
	}
	// The demo must not depend on (or change) the machine's git identity or
	// signing settings.
	for _, kv := range [][2]string{{"user.name", "shipprod demo"}, {"user.email", "demo@shipprod.invalid"},
		{"commit.gpgSign", "false"}, {"tag.gpgSign", "false"}, {"remote.origin.url", remote}} {
		if _, err := r.Run(ctx, "config", "--local", kv[0], kv[1]); err != nil {
			return err
		}
	}
	if _, err := r.Run(ctx, "config", "--local", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"); err != nil {
		return err
	}
	write := func(files map[string]string) error {
		for name, content := range files {
			p := filepath.Join(work, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	commit := func(msg string, files map[string]string) error {
		if err := write(files); err != nil {
			return err
		}
		if _, err := r.Run(ctx, "add", "--all"); err != nil {
			return err
		}
		_, err := r.Run(ctx, "commit", "--quiet", "-m", msg)
		return err
	}

	if err := commit("feat: order history", map[string]string{
		"package.json": "{\n  \"name\": \"demo-app\",\n  \"version\": \"1.2.0\",\n  \"private\": true,\n  \"scripts\": {\n    \"start\": \"node server.js\"\n  }\n}\n",
		"VERSION":      "1.2.0\n",
		"CHANGELOG.md": strings.ReplaceAll(demoChangelog, "[Unreleased]\n\n### Added\n\n- Pay with passkeys at checkout.\n\n### Fixed\n\n- The cart total is rounded once, not twice.\n\n", "[Unreleased]\n\n"),
		"server.js":    "// the demo app\n",
	}); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"tag", "--annotate", "--message=Release v1.2.0", "--", "v1.2.0"},
		{"push", "--quiet", "origin", "main", "refs/tags/v1.2.0", "main:refs/heads/production"},
	} {
		if _, err := r.Run(ctx, args...); err != nil {
			return err
		}
	}
	if err := commit("feat(checkout): pay with passkeys", map[string]string{"server.js": "// the demo app\n// checkout: passkeys\n"}); err != nil {
		return err
	}
	if err := commit("fix(cart): round the total once", map[string]string{"CHANGELOG.md": demoChangelog}); err != nil {
		return err
	}
	return commit("chore: configure shipprod", map[string]string{
		"shipprod.yaml":                        strings.ReplaceAll(demoConfig, "PROD_URL", prodURL),
		"specs/" + demoFeature + "/state.yaml": demoState,
	})
}

const demoChangelog = `# Changelog

All notable changes to this project are documented in this file.
The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added

- Pay with passkeys at checkout.

### Fixed

- The cart total is rounded once, not twice.

## [1.2.0] - 2026-10-01

### Added

- Order history.

[Unreleased]: https://git.example.com/demo-app/compare/v1.2.0...HEAD
[1.2.0]: https://git.example.com/demo-app/releases/tag/v1.2.0
`

// demoState is an approved Spec-Flow state file in the runtime dialect.
const demoState = `# Spec-Flow Workflow State
feature:
  slug: ` + demoFeature + `
  title: Pay with passkeys at checkout
deployment_model: staging-prod
workflow:
  phase: ship:validate-staging
  status: completed
  manual_gates:
    staging_validation:
      status: approved
      approved_by: demo
quality_gates:
  rollback_capability:
    passed: true
deployment:
  staging:
    url: https://staging.example.invalid
`

const demoConfig = `# shipprod configuration of the demo project.
version:
  files: [package.json, VERSION]
  changelog: CHANGELOG.md
git:
  remote: origin
  branch: main
deploy:
  provider: git-push
  git-push:
    remote: origin
    branch: production
    url: PROD_URL
health:
  base_url: PROD_URL
  timeout: 2s
  checks:
    - name: health
      http: /health
      expect_status: 200
    - name: live-version
      version: /api/version
monitor:
  window: 3s
  interval: 1s
  gates:
    - name: smoke
      health:
        checks: [health, live-version]
        max_failure_rate: 0
`
