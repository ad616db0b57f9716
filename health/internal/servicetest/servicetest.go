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
	values := make([]string, len(names))
	var missing []string
	for i, n := range names {
		values[i] = os.Getenv(n)
		if values[i] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		msg := "needs " + what + ": set " + strings.Join(missing, ", ") + "; " + Hint
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: " + msg)
		}
		t.Skip(msg)
	}
	return values
}
