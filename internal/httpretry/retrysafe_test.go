package httpretry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shipprod/shipprod/shipprodtest"
)

// TestRetrySafe checks that a POST is retried after a 5xx only when its
// context is marked RetrySafe, and that the retried request carries its body.
func TestRetrySafe(t *testing.T) {
	for _, tc := range []struct {
		name      string
		safe      bool
		wantCalls int32
		wantCode  int
	}{
		{"plain POST is not retried", false, 1, http.StatusBadGateway},
		{"RetrySafe POST is retried", true, 2, http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				buf := new(strings.Builder)
				_, _ = io.Copy(buf, r.Body)
				if buf.String() != `{"x":1}` {
					t.Errorf("attempt %d got body %q", calls.Load()+1, buf.String())
				}
				if calls.Add(1) == 1 {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				w.WriteHeader(http.StatusCreated)
			}))
			defer srv.Close()
			clock := shipprodtest.NewClock(time.Unix(1_700_000_000, 0))
			client := Client(&Transport{Clock: clock}, 0)
			ctx := context.Background()
			if tc.safe {
				ctx = RetrySafe(ctx)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(`{"x":1}`))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || calls.Load() != tc.wantCalls {
				t.Fatalf("got status %d after %d calls, want %d after %d", resp.StatusCode, calls.Load(), tc.wantCode, tc.wantCalls)
			}
		})
	}
}
