// Package servicetest gates the tests that need real servers — PostgreSQL,
// Redis, Prometheus — on the environment variables that say where they run.
// Without them a test is skipped with a message saying how to start the
// servers; under CI=true it fails instead, so that CI never skips them.
package servicetest

import (
	"os"
	"strings"
	"testing"
)

// Hint says how to start the servers and set the variables.
const Hint = "start the test servers with `source .ci/services.sh && services_start` (installs postgresql, redis-server and prometheus with apt-get if missing, starts them on loopback and exports the SHIPPROD_TEST_* variables), then run the tests from the same shell"

// Require returns the values of the named environment variables. When one is
// empty the test is skipped — or, when CI=true, failed — with a message
// naming the variables and how to set them.
func Require(t testing.TB, what string, names ...string) []string {
	t.Helper()
	return require(t, func(missing []string) string {
		return "needs " + what + ": set " + strings.Join(missing, ", ") + "; " + Hint
	}, names)
}

// RequireBecause is Require for a part of a server that .ci/services.sh
// starts only when it can (Redis's TLS listener): when a variable is empty,
// the message names it and then gives why, which should say what did not
// start and where to look.
func RequireBecause(t testing.TB, why string, names ...string) []string {
	t.Helper()
	return require(t, func(missing []string) string {
		return strings.Join(missing, ", ") + " unset: " + why
	}, names)
}

func require(t testing.TB, message func(missing []string) string, names []string) []string {
	t.Helper()
	values := make([]string, len(names))
	var missing []string
	for i, n := range names {
		values[i] = os.Getenv(n)
		if values[i] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		msg := message(missing)
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: " + msg)
		}
		t.Skip(msg)
	}
	return values
}
