package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/notify"
)

// A receiver of the signed webhook, written with nothing but the standard
// library: it recomputes the HMAC-SHA256 of "<timestamp>.<body>" over the
// raw body, compares it in constant time and refuses a stale timestamp,
// before it parses anything.
func Example() {
	const secret = "whsec-0123456789abcdef" // what DEPLOY_HOOK_SECRET holds, on both sides
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Shipprod-Timestamp")
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Shipprod-Signature-256"))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.Unix(secs, 0)).Abs() > 5*time.Minute {
			http.Error(w, "stale", http.StatusUnauthorized)
			return
		}
		var p notify.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Println("signature verified")
		fmt.Println(p.Title)
		for _, a := range p.Actions {
			fmt.Println("-", a.Text)
			for _, c := range a.Commands {
				fmt.Println("   ", c)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	environment := map[string]string{"DEPLOY_HOOK_URL": receiver.URL + "/shipprod", "DEPLOY_HOOK_SECRET": secret}
	n, err := notify.New(notify.Config{Targets: []notify.TargetConfig{
		{Type: "webhook", URLEnv: "DEPLOY_HOOK_URL", SecretEnv: "DEPLOY_HOOK_SECRET", On: []shipprod.Outcome{"unhealthy", "rolled-back"}},
	}}, notify.Options{Getenv: func(k string) string { return environment[k] }})
	if err != nil {
		panic(err)
	}
	err = n.Notify(context.Background(), shipprod.Result{
		Outcome:   shipprod.OutcomeUnhealthy,
		Release:   shipprod.Release{Version: "2.7.0", Tag: "v2.7.0", PreviousTag: "v2.6.3"},
		Unhealthy: "monitor gate error-rate failed: 3.2% vs threshold 1.5%",
		Deployment: &shipprod.Deployment{Provider: "vercel", ID: "dpl_new",
			RollbackSteps: []string{"vercel promote dpl_prev --yes"}},
	})
	fmt.Println("error:", err)
	// Output:
	// signature verified
	// v2.7.0 is in production and unhealthy
	// - To roll back:
	//     vercel promote dpl_prev --yes
	// - Fix v2.7.0, then ship a new version.
	// error: <nil>
}

// A receiver written in Go checks a delivery with VerifySignature.
func ExampleVerifySignature() {
	secret := []byte("whsec-0123456789abcdef")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifySignature(secret, r.Header, body, time.Now(), notify.DefaultTolerance); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})

	// A forged delivery: signed with another key.
	body := []byte(`{"schema_version":1,"outcome":"shipped"}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req := httptest.NewRequest(http.MethodPost, "/shipprod", bytes.NewReader(body))
	req.Header.Set(notify.HeaderTimestamp, ts)
	req.Header.Set(notify.HeaderSignature, notify.Sign([]byte("not the key"), ts, body))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())

	// The genuine one.
	req = httptest.NewRequest(http.MethodPost, "/shipprod", bytes.NewReader(body))
	req.Header.Set(notify.HeaderTimestamp, ts)
	req.Header.Set(notify.HeaderSignature, notify.Sign(secret, ts, body))
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// 401 notify: webhook signature did not verify: the HMAC does not match the body
	// 204
}

// The message for a run that rolled production back.
func ExampleComposer_Compose() {
	res := shipprod.Result{
		Outcome:   shipprod.OutcomeRolledBack,
		Release:   shipprod.Release{Version: "2.7.0", Tag: "v2.7.0", PreviousTag: "v2.6.3"},
		Unhealthy: "health check api failed: 503 Service Unavailable",
		Deployment: &shipprod.Deployment{Provider: "vercel", ID: "dpl_new", URL: "https://shop.example.com",
			RollbackSteps: []string{"vercel promote dpl_prev --yes"}},
		Rollback: &shipprod.RollbackReport{Target: shipprod.Release{Tag: "v2.6.3"},
			Restored: shipprod.Deployment{Provider: "vercel", ID: "dpl_prev"}},
		Reports: []string{"production-ship-report.md"},
	}
	fmt.Println(notify.Composer{Project: "shop"}.Compose(res).Text())
	// Output:
	// shop: v2.7.0 was rolled back to v2.6.3
	//
	// Production was unhealthy after v2.7.0 was deployed: health check api failed: 503 Service Unavailable. It was rolled back to v2.6.3 (deployment dpl_prev).
	//
	// What to do:
	// - v2.7.0 needs a fix: find out why it was unhealthy (see the ship report, production-ship-report.md), fix it and ship a new version.
	//
	// Production: https://shop.example.com
}
