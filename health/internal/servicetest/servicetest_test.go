package servicetest_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shipprod/shipprod/health/internal/servicetest"
)

// fakeTB records how a test ended. Fatal and Skip end the goroutine, as the
// real ones do.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) { f.fatal = fmt.Sprint(args...); runtime.Goexit() }

func (f *fakeTB) Skip(args ...any) { f.skip = fmt.Sprint(args...); runtime.Goexit() }

// run calls fn with a fakeTB in a goroutine of its own and returns how it
// ended and what fn returned.
func run(fn func(testing.TB) []string) (*fakeTB, []string) {
	tb := &fakeTB{}
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = fn(tb)
	}()
	<-done
	return tb, got
}

func TestRequire(t *testing.T) {
	const why = ".ci/services.sh did not start redis-server's TLS listener"
	for _, tt := range []struct {
		name, ci   string
		tlsAddr    string
		fatal      string
		skip       string
		wantValues []string
	}{
		{name: "set", ci: "true", tlsAddr: "127.0.0.1:6380", wantValues: []string{"127.0.0.1:6380"}},
		{name: "unset, locally", ci: "", skip: "SHIPPROD_TEST_REDIS_TLS_ADDR unset: " + why},
		{name: "unset, in CI", ci: "true", fatal: "CI=true: SHIPPROD_TEST_REDIS_TLS_ADDR unset: " + why},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv("SHIPPROD_TEST_REDIS_TLS_ADDR", tt.tlsAddr)
			tb, got := run(func(tb testing.TB) []string {
				return servicetest.RequireBecause(tb, why, "SHIPPROD_TEST_REDIS_TLS_ADDR")
			})
			assert.Equal(t, tt.fatal, tb.fatal)
			assert.Equal(t, tt.skip, tb.skip)
			assert.Equal(t, tt.wantValues, got)
		})
	}

	t.Setenv("CI", "true")
	t.Setenv("SHIPPROD_TEST_X", "")
	tb, _ := run(func(tb testing.TB) []string { return servicetest.Require(tb, "an X server", "SHIPPROD_TEST_X") })
	assert.Equal(t, "CI=true: needs an X server: set SHIPPROD_TEST_X; "+servicetest.Hint, tb.fatal)
}
