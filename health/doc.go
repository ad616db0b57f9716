// Package health checks that a deployed release really works: HTTP endpoints
// (exact status, body, jq expressions on a JSON body, headers, latency,
// application/health+json),
// the deployed version, a page's static assets, TCP ports, DNS names, SQL
// databases, Redis and any program's exit status. Importers add their own
// kinds through the Probe interface.
//
// An assets check (AssetsConfig) fetches a page of the deployment, finds
// the scripts, stylesheets and preloads it references (parsed with
// golang.org/x/net/html) and requests each one, at most Max (default 50),
// 8 at a time: every one must answer 200 with the content type its
// reference expects (JavaScript for scripts, text/css for styles, by `as`
// for preloads). Assets on the page's origin are requested from the
// deployment; assets on another origin (a CDN) where they are, without the
// check's headers. It catches a CDN still serving the previous build's
// HTML, whose hashed chunks answer 404, new chunks that were never
// uploaded, and the SPA fallback answering 200 text/html for a missing
// .js; expect_asset, a regular expression that an asset URL must match
// (with {version} for the release's version), catches an old page whose
// old chunks still answer. The message counts the assets checked and
// names the first failing one with its status and content type:
//
//	1 of 12 assets of https://www.example.com/ failed (9 script, 2 style, 1 preload); first: https://www.example.com/assets/chunk-9f8e.js (script): 200 OK, content type text/html; charset=utf-8, want JavaScript (text/javascript or application/javascript)
//
// A Checker implements shipprod.HealthChecker, shipprod.ActionPlanner and
// shipprod.Preflighter: its pre-flight resolves every check's target
// before the deploy, without a request (a relative URL is left to the
// deployer's URL when health.base_url is not set; RelativeTargets names
// those). It runs every check concurrently on a bounded pool of workers. Each check is
// retried in the style of Kubernetes probes: after an initial delay it is
// attempted every period, each attempt bounded by a timeout, until it has
// succeeded SuccessThreshold times in a row (passed) or failed
// FailureThreshold times in a row (failed). "Wait until the new version is
// live" is therefore the same mechanism as "check that it works".
//
// Failing checks are reported in the shipprod.HealthReport, with their status,
// attempts, latency and error; Check returns an error only when the checks
// cannot run at all (a relative URL with no base URL to resolve it against, a
// cancelled context). Secrets — DSNs, passwords, header values read from the
// environment — are masked in every report, error and log line.
//
// Waits between attempts (initial delay and period) are measured on the
// injected shipprod.Clock, so tests run a long readiness wait in
// milliseconds. The per-attempt timeout and the reported latency bound and
// measure real I/O and therefore use real time.
//
// The Redis check uses github.com/redis/go-redis/v9 for the protocol
// (HELLO/AUTH, SELECT, PING) on a connection it dials itself, so that
// go-redis, whose logger is package-global, has no failed dial to log.
//
// The SQL check uses database/sql with the driver the importer registers; this
// package imports no driver. The reference CLI blank-imports pgx's stdlib
// driver ("pgx"):
//
//	import _ "github.com/jackc/pgx/v5/stdlib"
package health
