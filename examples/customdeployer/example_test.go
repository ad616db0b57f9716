package customdeployer_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/shipprod/shipprod"
	_ "github.com/shipprod/shipprod/examples/customdeployer" // registers "deploy-hook"
	"github.com/shipprod/shipprod/provider"
)

// A program offers the deploy-hook deployer with a blank import and builds
// it by the name its configuration gives.
func Example() {
	// A stand-in for the team's deploy service.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"id":"deploy-7","status_url":"/deploys/deploy-7","previous_id":"deploy-6"}`)
	})
	mux.HandleFunc("GET /deploys/deploy-7", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":"deploy-7","state":"succeeded"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The "deploy" section of shipprod.yaml: provider: deploy-hook, and:
	section, _ := provider.ParseSection("hook_url: " + srv.URL + "/hook\nurl: https://www.example.com\n")
	d, err := provider.Open(context.Background(), "deploy-hook", provider.Env{Config: section})
	if err != nil {
		fmt.Println(err)
		return
	}
	dep, err := d.Deploy(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", Commit: "2222222"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dep.Provider, dep.ID, dep.PreviousID, dep.URL)
	fmt.Println(shipprod.Capabilities(d))
	// Output:
	// deploy-hook deploy-7 deploy-6 https://www.example.com
	// [rollback production preflight plan]
}
