package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/shipprodtest"
)

// Secrets given to checks — a DSN, a Redis password, a token header, a
// password in a URL — appear nowhere: not in the report, not in errors, not
// in the plan, not in the logs, even when a server repeats them back.
func TestSecretsNeverLeak(t *testing.T) {
	const (
		dsnPassword   = "pg-Pa55word"
		redisPassword = "redis-Pa55word"
		token         = "tok_9f8e7d6c5b4a"
		urlPassword   = "url-Pa55word"
	)
	dsn := "fake://app:" + dsnPassword + "@db.internal:5432/shop?open=fail"
	env := map[string]string{"DATABASE_URL": dsn, "REDIS_PASSWORD": redisPassword, "API_TOKEN": "Bearer " + token}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A server that echoes credentials back in its error body.
		user, pass, _ := r.BasicAuth()
		http.Error(w, fmt.Sprintf("denied: %q %s:%s", r.Header.Get("Authorization"), user, pass), http.StatusForbidden)
	}))
	defer srv.Close()
	redis := startFakeRedis(t, "the-right-one", nil)
	redis.echoPassword = true
	withPass := strings.Replace(srv.URL, "http://", "http://ops:"+urlPassword+"@", 1)

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := health.Config{Timing: health.Timing{FailureThreshold: 2}, Checks: []health.CheckConfig{
		{Name: "db", SQL: &health.SQLConfig{Driver: "shipprodfake", DSNEnv: "DATABASE_URL"}},
		{Name: "cache", Redis: &health.RedisConfig{Addr: redis.addr(), PasswordEnv: "REDIS_PASSWORD"}},
		{Name: "api", HTTP: srv.URL + "/private", HTTPOptions: health.HTTPOptions{HeadersFromEnv: map[string]string{"Authorization": "API_TOKEN"}, ExpectBody: "ok"}},
		{Name: "basic", HTTP: withPass + "/admin"},
		{Name: "assets", Assets: &health.AssetsConfig{Page: withPass + "/app"}, HTTPOptions: health.HTTPOptions{HeadersFromEnv: map[string]string{"Authorization": "API_TOKEN"}}},
	}}
	c, err := health.New(cfg, health.Options{Clock: shipprodtest.NewClock(testStart), Logger: logger, Getenv: func(k string) string { return env[k] }})
	require.NoError(t, err)

	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	require.Len(t, rep.Checks, 5)
	for _, r := range rep.Checks {
		assert.Equal(t, shipprod.HealthFail, r.Status, "%s should fail", r.Name)
		assert.Equal(t, 2, r.Attempts)
	}
	plan, err := c.PlanActions(context.Background(), testRelease)
	require.NoError(t, err)

	reportJSON, err := json.Marshal(rep)
	require.NoError(t, err)
	planJSON, err := json.Marshal(plan)
	require.NoError(t, err)
	herr := (&shipprod.HealthCheckError{Report: rep}).Error()
	everything := string(reportJSON) + string(planJSON) + herr + logs.String()
	require.Contains(t, logs.String(), "health check attempt", "the logs were captured")
	assert.Contains(t, everything, health.Mask, "secrets are replaced, not just dropped")
	for _, secret := range []string{dsnPassword, redisPassword, token, urlPassword, dsn} {
		assert.NotContains(t, everything, secret)
	}
	// What is left is still useful.
	assert.Contains(t, herr, "db (sql fake://db.internal:5432/shop)")
	assert.Contains(t, herr, "status 403 Forbidden, want 200")
	assert.Contains(t, string(reportJSON), "http://ops:***@127.0.0.1")
	assert.Contains(t, herr, "page http://ops:***@127.0.0.1")

	// Configuration errors mask them too.
	env["DATABASE_URL"] = "fake://app:" + dsnPassword + "@db/x"
	_, err = health.New(health.Config{Checks: []health.CheckConfig{
		{Name: "db", SQL: &health.SQLConfig{Driver: "nosuch", DSNEnv: "DATABASE_URL"}},
		{Name: "web", HTTP: "ftp://u:" + urlPassword + "@host/"},
	}}, health.Options{Getenv: func(k string) string { return env[k] }})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), dsnPassword)
	assert.NotContains(t, err.Error(), urlPassword)
	assert.Contains(t, err.Error(), `"ftp://u:***@host/": only http and https URLs can be checked`)
}

// The health package leaves the choice of SQL driver to the importer.
func TestNoDatabaseDriverImported(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		file, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range file.Imports {
			assert.NotContains(t, imp.Path.Value, "pgx", "%s imports a database driver", f)
			assert.NotContains(t, imp.Path.Value, "lib/pq", "%s imports a database driver", f)
		}
		checked++
	}
	assert.Greater(t, checked, 5)
}
