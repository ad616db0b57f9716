// Package health checks that a deployed release really works: HTTP endpoints
// (exact status, body, jq expressions on a JSON body, headers, latency,
// application/health+json),
// the deployed version, TCP ports, DNS names, SQL databases, Redis and any
// program's exit status. Importers add their own kinds through the Probe
// interface.
//
// A Checker implements shipprod.HealthChecker and shipprod.ActionPlanner. It
// runs every check concurrently on a bounded pool of workers. Each check is
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
