package health_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/internal/yamlstrict"
)

// resource is what a fake site answers for one path (query included).
type resource struct {
	status int // default 200
	ctype  string
	body   string
}

// site is a fake deployment (or CDN) serving resources, recording every
// request before it answers it.
type site struct {
	*httptest.Server
	mu        sync.Mutex
	resources map[string]resource
	requests  []string            // path?query, in arrival order
	headers   map[string][]string // path → the X-Token values it was sent
}

func newSite(t *testing.T, resources map[string]resource) *site {
	t.Helper()
	s := &site{resources: resources, headers: map[string][]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.RequestURI()
		s.mu.Lock()
		s.requests = append(s.requests, key)
		s.headers[key] = append(s.headers[key], r.Header.Get("X-Token"))
		res, ok := s.resources[key]
		s.mu.Unlock()
		if !ok {
			// The classic SPA fallback would be index.html; a plain 404 here.
			http.NotFound(w, r)
			return
		}
		if res.ctype != "" {
			w.Header().Set("Content-Type", res.ctype)
		}
		if res.status != 0 {
			w.WriteHeader(res.status)
		}
		fmt.Fprint(w, res.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

const (
	jsType   = "text/javascript; charset=utf-8"
	cssType  = "text/css; charset=utf-8"
	htmlType = "text/html; charset=utf-8"
)

func page(body string) resource { return resource{ctype: htmlType, body: body} }
func js() resource              { return resource{ctype: jsType, body: "console.log(1)"} }
func css() resource             { return resource{ctype: cssType, body: "body{}"} }

// assetsCheck runs one assets check against base.
func assetsCheck(t *testing.T, ac health.AssetsConfig, base string, opts ...func(*health.CheckConfig)) shipprod.CheckResult {
	t.Helper()
	cc := health.CheckConfig{Name: "assets", Assets: &ac}
	for _, o := range opts {
		o(&cc)
	}
	res := checkOne(t, cc, base)
	assert.Equal(t, "assets", res.Kind)
	return res
}

const goodPage = `<!doctype html><html><head>
<link rel="stylesheet" href="/assets/app.3f9a.css">
<link rel="preload" as="font" href="/fonts/inter.woff2" crossorigin>
<link rel="modulepreload" href="/assets/vendor.77aa.js">
<link rel="preload" as="image" href="/img/hero.png">
<link rel="icon" href="/favicon.ico">
<script type="importmap">{"imports":{}}</script>
<script type="application/json" src="/data.json"></script>
<script type="module" src="/assets/main.1a2b.js"></script>
</head><body>
<template><script src="/assets/not-loaded.js"></script></template>
<img src="/img/other.png">
<script src="/assets/legacy.9c9c.js" nomodule></script>
<script src="data:text/javascript,1"></script>
</body></html>`

func goodSite(t *testing.T) *site {
	return newSite(t, map[string]resource{
		"/":                      page(goodPage),
		"/assets/app.3f9a.css":   css(),
		"/fonts/inter.woff2":     {ctype: "font/woff2", body: "wOF2"},
		"/assets/vendor.77aa.js": {ctype: "application/javascript", body: "export{}"},
		"/img/hero.png":          {ctype: "image/png", body: "\x89PNG"},
		"/assets/main.1a2b.js":   js(),
		"/assets/legacy.9c9c.js": js(),
	})
}

func TestAssetsCheckAllGood(t *testing.T) {
	s := goodSite(t)
	res := assetsCheck(t, health.AssetsConfig{}, s.URL)
	require.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	assert.Equal(t, "6 assets of "+s.URL+"/ answer 200 with their content types (2 script, 1 style, 3 preload)", res.Message)
	assert.Equal(t, s.URL+"/", res.Target)
	// Exactly the page and its six assets: not the icon, the image, the
	// template's script, the import map, the JSON data or the data: URL.
	assert.ElementsMatch(t, []string{"/", "/assets/app.3f9a.css", "/fonts/inter.woff2", "/assets/vendor.77aa.js",
		"/img/hero.png", "/assets/main.1a2b.js", "/assets/legacy.9c9c.js"}, s.requested())
}

func TestAssetsCheckFailures(t *testing.T) {
	tests := []struct {
		name      string
		resources map[string]resource
		ac        health.AssetsConfig
		want      string // the whole error, with URL for the site's URL
	}{
		{name: "one chunk 404", resources: map[string]resource{
			"/":                   page(`<script src="/a.js"></script><script src="/chunk-b.js"></script><link rel=stylesheet href="/c.css">`),
			"/a.js":               js(),
			"/c.css":              css(),
			"/chunk-b.js-is-gone": js(),
		}, want: "1 of 3 assets of URL/ failed (2 script, 1 style); first: URL/chunk-b.js (script): 404 Not Found, content type text/plain; charset=utf-8, want 200"},
		{name: "SPA fallback: HTML served for a .js", resources: map[string]resource{
			"/":      page(`<script src="/a.js"></script><script src="/b.js"></script>`),
			"/a.js":  page("<!doctype html><div id=root></div>"),
			"/b.js":  js(),
			"/other": js(),
		}, want: "1 of 2 assets of URL/ failed (2 script); first: URL/a.js (script): 200 OK, content type text/html; charset=utf-8, want JavaScript (text/javascript or application/javascript)"},
		{name: "HTML body under a JavaScript content type", resources: map[string]resource{
			"/":     page(`<script src="/a.js"></script>`),
			"/a.js": {ctype: jsType, body: "\n  <!DOCTYPE html><html><body>app</body></html>"},
		}, want: `1 of 1 assets of URL/ failed (1 script); first: URL/a.js (script): 200 OK, content type text/javascript; charset=utf-8, but the body is an HTML document ("<!DOCTYPE html><html><body>app</body></html>")`},
		{name: "stylesheet without a content type", resources: map[string]resource{
			"/":      page(`<link rel="stylesheet" href="/a.css">`),
			"/a.css": {ctype: "text/plain", body: "x"},
		}, want: "1 of 1 assets of URL/ failed (1 style); first: URL/a.css (style): 200 OK, content type text/plain, want text/css"},
		{name: "preload as style is CSS", resources: map[string]resource{
			"/":        page(`<link rel="preload" as="style" href="/a.css"><link rel=preload as=font href="/f.woff2">`),
			"/a.css":   js(),
			"/f.woff2": {ctype: htmlType, body: "<html>"},
		}, want: "2 of 2 assets of URL/ failed (2 preload); first: URL/a.css (preload as style): 200 OK, content type text/javascript; charset=utf-8, want text/css"},
		{name: "old HTML referencing a chunk that no longer exists", resources: map[string]resource{
			// The CDN still serves the previous build's page.
			"/":                    page(`<script type="module" src="/assets/main.old1.js"></script><link rel="modulepreload" href="/assets/chunk.old2.js">`),
			"/assets/main.new9.js": js(),
		}, ac: health.AssetsConfig{ExpectAsset: `main\.new9\.js`},
			want: "2 of 2 assets of URL/ failed (1 script, 1 preload); first: URL/assets/main.old1.js (script): 404 Not Found, content type text/plain; charset=utf-8, want 200; " +
				`no asset of URL/ matches expect_asset "main\\.new9\\.js": the page may be the previous build (from a cache or an old deployment)`},
		{name: "old HTML whose chunks still answer: only the marker tells", resources: map[string]resource{
			"/":                           page(`<script src="/_next/static/2.6.3/main.js"></script>`),
			"/_next/static/2.6.3/main.js": js(),
			"/_next/static/2.7.0/main.js": js(),
		}, ac: health.AssetsConfig{ExpectAsset: `/_next/static/{version}/`},
			want: `no asset of URL/ matches expect_asset "/_next/static/2\\.7\\.0/": the page may be the previous build (from a cache or an old deployment)`},
		{name: "the page itself failing", resources: map[string]resource{
			"/": {status: http.StatusInternalServerError, ctype: htmlType, body: "<h1>oops</h1>"},
		}, want: "page URL/: 500 Internal Server Error, content type text/html; charset=utf-8, want 200"},
		{name: "a page that is not HTML", resources: map[string]resource{
			"/": {ctype: "application/json", body: `{"ok":true}`},
		}, want: "page URL/: 200 OK, content type application/json, want text/html"},
		{name: "a page without assets", resources: map[string]resource{
			"/": page(`<h1>Maintenance</h1><script>inline()</script>`),
		}, want: "page URL/ references no script, style or preload asset"},
		{name: "types narrow what is checked", resources: map[string]resource{
			"/": page(`<script src="/gone.js"></script>`),
		}, ac: health.AssetsConfig{Types: []string{"style"}}, want: "page URL/ references no style asset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, tt.resources)
			res := assetsCheck(t, tt.ac, s.URL)
			require.Equal(t, shipprod.HealthFail, res.Status, res.Message)
			assert.Equal(t, strings.ReplaceAll(tt.want, "URL", s.URL), res.Error)
		})
	}
}

func TestAssetsCheckMarker(t *testing.T) {
	s := newSite(t, map[string]resource{
		"/app/":                           page(`<script src="../_next/static/2.7.0/main.js?v=3"></script>`),
		"/_next/static/2.7.0/main.js?v=3": js(),
	})
	res := assetsCheck(t, health.AssetsConfig{Page: "/app/", ExpectAsset: `/_next/static/{version}/main`}, s.URL)
	require.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	assert.Equal(t, "1 assets of "+s.URL+"/app/ answer 200 with their content types (1 script); expect_asset matches "+s.URL+"/_next/static/2.7.0/main.js?v=3", res.Message)
}

// TestAssetsCheckURLs resolves every form of reference against the page
// (and its <base href>), requests assets on the page's origin there and
// those on another origin (a CDN) where they are, and sends the check's
// headers to the page's origin only.
func TestAssetsCheckURLs(t *testing.T) {
	cdn := newSite(t, map[string]resource{
		"/abs.js":         js(),
		"/proto-rel.css":  css(),
		"/lib/x.js?v=1.2": js(),
	})
	cdnHost := strings.TrimPrefix(cdn.URL, "http://")
	s := newSite(t, map[string]resource{
		"/shop/cart": page(`<html><head>
<script src="rel.js"></script>
<script src="../root-rel.js?build=7#ignored"></script>
<script src="/root-rel.js?build=7"></script>
<script src="/root-rel.js?build=8"></script>
<script src="` + cdn.URL + `/abs.js"></script>
<link rel="stylesheet" href="//` + cdnHost + `/proto-rel.css">
<link rel="STYLESHEET alternate" href="  /alt.css  ">
</head></html>`),
		"/shop/rel.js":         js(),
		"/root-rel.js?build=7": js(),
		"/root-rel.js?build=8": js(),
		"/alt.css":             css(),
		"/moved":               {status: http.StatusFound, ctype: htmlType},
	})
	t.Setenv("ASSETS_TOKEN", "t0ken-for-prod")
	res := assetsCheck(t, health.AssetsConfig{Page: "/shop/cart"}, s.URL, func(cc *health.CheckConfig) {
		cc.HeadersFromEnv = map[string]string{"X-Token": "ASSETS_TOKEN"}
	})
	require.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	assert.Equal(t, "6 assets of "+s.URL+"/shop/cart answer 200 with their content types (4 script, 2 style; 2 on other origins)", res.Message)
	assert.ElementsMatch(t, []string{"/shop/cart", "/shop/rel.js", "/root-rel.js?build=7", "/root-rel.js?build=8", "/alt.css"}, s.requested())
	assert.ElementsMatch(t, []string{"/abs.js", "/proto-rel.css"}, cdn.requested())
	for path, got := range s.headers {
		assert.Equal(t, []string{"t0ken-for-prod"}, got, "the deployment gets the header (%s)", path)
	}
	for path, got := range cdn.headers {
		assert.Equal(t, []string{""}, got, "another origin never gets the header (%s)", path)
	}

	// <base href> moves where relative references resolve, to a CDN here.
	s2 := newSite(t, map[string]resource{
		"/": page(`<head><base href="` + cdn.URL + `/lib/"><base href="/ignored/"></head><script src="x.js?v=1.2"></script>`),
	})
	res = assetsCheck(t, health.AssetsConfig{}, s2.URL)
	require.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	assert.Contains(t, cdn.requested(), "/lib/x.js?v=1.2")
	assert.Equal(t, []string{"/"}, s2.requested())
}

// TestAssetsCheckRedirects follows redirects like a browser, and drops the
// check's headers when one leaves the page's origin.
func TestAssetsCheckRedirects(t *testing.T) {
	cdn := newSite(t, map[string]resource{"/a.js": js()})
	s := newSite(t, map[string]resource{
		"/":     {status: http.StatusMovedPermanently},
		"/en/":  page(`<script src="/a.js"></script><script src="/b.js"></script>`),
		"/b.js": js(),
	})
	// Redirects: / → /en/ on the site, /a.js → the CDN.
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			s.mu.Lock()
			s.requests = append(s.requests, "/")
			s.mu.Unlock()
			http.Redirect(w, r, "/en/", http.StatusMovedPermanently)
		case "/a.js":
			s.mu.Lock()
			s.requests = append(s.requests, "/a.js")
			s.headers["/a.js"] = append(s.headers["/a.js"], r.Header.Get("X-Token"))
			s.mu.Unlock()
			http.Redirect(w, r, cdn.URL+"/a.js", http.StatusFound)
		default:
			key := r.URL.RequestURI()
			s.mu.Lock()
			s.requests = append(s.requests, key)
			res := s.resources[key]
			s.mu.Unlock()
			w.Header().Set("Content-Type", res.ctype)
			fmt.Fprint(w, res.body)
		}
	})
	res := assetsCheck(t, health.AssetsConfig{}, s.URL, func(cc *health.CheckConfig) {
		cc.Headers = map[string]string{"X-Token": "site-only"}
	})
	require.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	assert.Equal(t, "2 assets of "+s.URL+"/en/ answer 200 with their content types (2 script)", res.Message)
	assert.Equal(t, []string{"site-only"}, s.headers["/a.js"])
	assert.Equal(t, []string{""}, cdn.headers["/a.js"], "the redirect to the CDN drops the header")
}

// TestAssetsCheckMax caps the assets requested at max, in page order, and
// requests at most 8 at once.
func TestAssetsCheckMax(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintf(&b, "<script src=\"/chunks/%03d.js\"></script>\n", i)
	}
	var (
		mu                  sync.Mutex
		requested           []string
		inFlight, maxFlight int
		eight               = make(chan struct{})
		release             = make(chan struct{})
		once                sync.Once
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", htmlType)
			fmt.Fprint(w, b.String())
			return
		}
		mu.Lock()
		requested = append(requested, r.URL.Path)
		inFlight++
		maxFlight = max(maxFlight, inFlight)
		if inFlight == 8 {
			once.Do(func() { close(eight) })
		}
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.Header().Set("Content-Type", jsType)
		fmt.Fprint(w, "1")
	}))
	// Every request is held until eight are in flight, and then a moment
	// longer: a check without the bound would have sent a ninth by then
	// (it starts all twenty at once). Showing that something does not
	// happen takes a wait; nothing else here does.
	go func() {
		<-eight
		time.Sleep(50 * time.Millisecond)
		close(release)
	}()
	t.Cleanup(srv.Close)
	res := assetsCheck(t, health.AssetsConfig{Max: 20}, srv.URL)
	require.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	assert.Equal(t, "20 assets of "+srv.URL+"/ answer 200 with their content types (20 script; 20 of 500 referenced (max 20))", res.Message)
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("/chunks/%03d.js", i))
	}
	assert.ElementsMatch(t, want, requested)
	assert.Equal(t, 8, maxFlight)
}

func TestAssetsCheckConfig(t *testing.T) {
	var cfg health.Config
	doc := `
base_url: https://www.example.com
checks:
  - name: assets
    assets: {page: /, types: [script, style, preload], max: 50, expect_asset: 'main\.[0-9a-f]{8}\.js'}
    headers: {X-Preview: "1"}
  - name: defaults
    assets: {}
`
	require.NoError(t, yamlstrict.Unmarshal("shipprod.yaml", []byte(doc), &cfg))
	assert.Equal(t, &health.AssetsConfig{Page: "/", Types: []string{"script", "style", "preload"}, Max: 50, ExpectAsset: `main\.[0-9a-f]{8}\.js`}, cfg.Checks[0].Assets)
	c, err := health.New(cfg, health.Options{})
	require.NoError(t, err)
	acts, err := c.PlanActions(context.Background(), testRelease)
	require.NoError(t, err)
	require.Len(t, acts, 2)
	assert.Equal(t, "https://www.example.com/", acts[0].Target)
	assert.Equal(t, `health check assets: GET https://www.example.com/ and the script, style and preload assets it references (at most 50), expect 200 with their content types, one matching "main\\.[0-9a-f]{8}\\.js"`, acts[0].Description)
	assert.Equal(t, `health check defaults: GET https://www.example.com/ and the script, style and preload assets it references (at most 50), expect 200 with their content types`, acts[1].Description)
	assert.Equal(t, "assets", c.Checks()[0].Kind)

	_, err = health.New(health.Config{Checks: []health.CheckConfig{
		{Name: "bad", Assets: &health.AssetsConfig{Types: []string{"js"}, Max: -1, ExpectAsset: "("},
			HTTPOptions: health.HTTPOptions{ExpectStatus: 200, ExpectBody: "x"}},
		{Name: "two", HTTP: "/", Assets: &health.AssetsConfig{}},
	}}, health.Options{})
	require.Error(t, err)
	for _, want := range []string{
		"health.checks[0] (bad): expect_status, expect_body: not for assets checks, which take headers, headers_from_env and insecure_skip_verify; " +
			`assets.types: "js" is not script, style or preload; assets.max must not be negative; assets.expect_asset: error parsing regexp: missing closing ): ` + "`(`\n",
		"health.checks[1] (two): sets http and assets; a check has exactly one kind",
	} {
		assert.Contains(t, err.Error(), want)
	}
}
