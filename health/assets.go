package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/shipprod/shipprod"
)

// Limits of an assets check.
const (
	DefaultAssetsMax = 50
	// assetConcurrency bounds the assets requested at once by one check.
	assetConcurrency = 8
	// maxPage bounds the page read; maxAssetBody the part of each asset's
	// body read (enough to see an HTML document served for a script).
	maxPage      = 8 << 20
	maxAssetBody = 64 << 10
)

// The reference types of an assets check (AssetsConfig.Types).
const (
	AssetScript  = "script"
	AssetStyle   = "style"
	AssetPreload = "preload"
)

var assetTypes = []string{AssetScript, AssetStyle, AssetPreload}

// assetsProbe is an assets check: a page and the assets it references.
type assetsProbe struct {
	page   string
	types  map[string]bool
	max    int
	expect string // expect_asset, with {version} still in it
	header http.Header
	client *http.Client
}

// newAssetsProbe builds an assets probe. It returns the header values read
// from the environment, secrets to mask.
func newAssetsProbe(cc CheckConfig, env buildEnv) (*assetsProbe, []string, error) {
	ac := *cc.Assets
	p := &assetsProbe{page: strings.TrimSpace(ac.Page), types: map[string]bool{}, max: ac.Max, expect: ac.ExpectAsset, header: http.Header{}}
	var errs *multierror.Error
	fail := func(format string, args ...any) { errs = multierror.Append(errs, fmt.Errorf(format, args...)) }
	if p.page == "" {
		p.page = "/"
	}
	hp := &httpProbe{rawURL: p.page, opts: cc.HTTPOptions, header: p.header}
	secrets := hp.checkURL(fail)
	secrets = append(secrets, hp.setHeaders(env.getenv, fail)...)
	for _, t := range ac.Types {
		if !slices.Contains(assetTypes, strings.ToLower(t)) {
			fail("assets.types: %q is not script, style or preload", t)
		}
		p.types[strings.ToLower(t)] = true
	}
	if len(ac.Types) == 0 {
		for _, t := range assetTypes {
			p.types[t] = true
		}
	}
	switch {
	case p.max < 0:
		fail("assets.max must not be negative")
	case p.max == 0:
		p.max = DefaultAssetsMax
	}
	if p.expect != "" {
		if _, err := p.marker("0.0.0"); err != nil {
			fail("assets.expect_asset: %v", err)
		}
	}
	client, err := probeClient(env.client, HTTPOptions{InsecureSkipVerify: cc.InsecureSkipVerify})
	if err != nil {
		fail("%v", err)
	}
	client.CheckRedirect = p.checkRedirect
	p.client = client
	return p, secrets, errs.ErrorOrNil()
}

// checkRedirect follows redirects as a browser does, and drops the check's
// headers from a request that leaves the origin the first one went to.
func (p *assetsProbe) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > DefaultMaxRedirects {
		return fmt.Errorf("stopped after %d redirects", DefaultMaxRedirects)
	}
	if !sameOrigin(req.URL, via[0].URL) {
		for k := range p.header {
			req.Header.Del(k)
		}
	}
	return nil
}

// marker compiles expect_asset for a release version.
func (p *assetsProbe) marker(version string) (*regexp.Regexp, error) {
	return regexp.Compile(strings.ReplaceAll(p.expect, "{version}", regexp.QuoteMeta(version)))
}

// ResolveTarget resolves the page against the base URL.
func (p *assetsProbe) ResolveTarget(t Target) (string, error) {
	u, err := resolveURL(p.page, t.BaseURL)
	if err != nil {
		return "", err
	}
	return redactURL(u), nil
}

func (p *assetsProbe) plan(rel shipprod.Release, baseURL string) (string, string) {
	target := planTarget(p.page, baseURL)
	return target, p.describeFor(target, rel.Version)
}

func (p *assetsProbe) describeFor(target, version string) string {
	var kinds []string
	for _, t := range assetTypes {
		if p.types[t] {
			kinds = append(kinds, t)
		}
	}
	desc := fmt.Sprintf("GET %s and the %s assets it references (at most %d), expect 200 with their content types", target, joinOr(kinds, "and"), p.max)
	if p.expect != "" {
		expect := p.expect
		if version != "" {
			expect = strings.ReplaceAll(expect, "{version}", regexp.QuoteMeta(version))
		}
		desc += fmt.Sprintf(", one matching %q", expect)
	}
	return desc
}

// joinOr joins "a", "b" and "c" as "a, b and c".
func joinOr(items []string, word string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + word + " " + items[len(items)-1]
}

// Probe fetches the page, then its assets, and reports every asset that
// does not answer 200 with its content type, naming the first.
func (p *assetsProbe) Probe(ctx context.Context, t Target) (Observation, error) {
	var marker *regexp.Regexp
	if p.expect != "" {
		if strings.Contains(p.expect, "{version}") && t.Release.Version == "" {
			return Observation{}, errors.New("assets.expect_asset names {version}, but the release has no version")
		}
		var err error
		if marker, err = p.marker(t.Release.Version); err != nil {
			return Observation{}, fmt.Errorf("assets.expect_asset: %w", err)
		}
	}
	raw, err := resolveURL(p.page, t.BaseURL)
	if err != nil {
		return Observation{}, err
	}
	page, refs, err := p.readPage(ctx, raw)
	if err != nil {
		return Observation{}, err
	}
	if len(refs) == 0 {
		return Observation{}, fmt.Errorf("page %s references no %s asset", redactURL(page.String()), joinOr(p.typeNames(), "or"))
	}
	checked := refs[:min(len(refs), p.max)]
	results := p.fetchAll(ctx, page, checked)
	if err := ctx.Err(); err != nil {
		return Observation{}, err
	}
	return p.judge(page, refs, checked, results, marker)
}

func (p *assetsProbe) typeNames() []string {
	var out []string
	for _, t := range assetTypes {
		if p.types[t] {
			out = append(out, t)
		}
	}
	return out
}

// assetRef is an asset a page references.
type assetRef struct {
	url  *url.URL // resolved, without its fragment
	kind string   // AssetScript, AssetStyle or AssetPreload
	as   string   // a preload's destination: "script" for modulepreload
}

// want is the content type the reference expects, as words for a message,
// and whether a media type is one; ok is nil when any type will do.
func (r assetRef) want() (words string, ok func(mediaType string) bool) {
	switch {
	case r.kind == AssetScript || r.as == "script":
		return "JavaScript (text/javascript or application/javascript)", isJavaScript
	case r.kind == AssetStyle || r.as == "style":
		return "text/css", func(mt string) bool { return mt == "text/css" }
	case r.as == "image":
		return "an image type", func(mt string) bool { return strings.HasPrefix(mt, "image/") }
	case r.as == "font":
		return "a font type", func(mt string) bool { return !strings.HasPrefix(mt, "text/") }
	}
	return "", nil
}

// jsTypes are the JavaScript MIME type essences (WHATWG MIME Sniffing).
var jsTypes = []string{"text/javascript", "application/javascript", "application/ecmascript", "application/x-ecmascript",
	"application/x-javascript", "text/ecmascript", "text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
	"text/javascript1.3", "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
	"text/x-ecmascript", "text/x-javascript"}

func isJavaScript(mediaType string) bool { return slices.Contains(jsTypes, mediaType) }

// readPage fetches the page and lists the assets it references, in order,
// each URL once. page is the page's final URL, after redirects.
func (p *assetsProbe) readPage(ctx context.Context, raw string) (*url.URL, []assetRef, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("building the request: %w", err)
	}
	p.setHeaders(req, true)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, nil, describeTransportError(err)
	}
	defer resp.Body.Close()
	page := resp.Request.URL
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("page %s: %d %s, content type %s, want 200", redactURL(page.String()), resp.StatusCode, http.StatusText(resp.StatusCode), orNoneType(ct))
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "text/html" && mt != "application/xhtml+xml" {
		return nil, nil, fmt.Errorf("page %s: 200 OK, content type %s, want text/html", redactURL(page.String()), orNoneType(ct))
	}
	refs, err := p.scan(io.LimitReader(resp.Body, maxPage), page)
	if err != nil {
		return nil, nil, fmt.Errorf("page %s: reading it: %w", redactURL(page.String()), err)
	}
	return page, refs, nil
}

// setHeaders sets the check's headers on a request to the page's origin
// (the page itself, or an asset there), and the User-Agent on every one.
func (p *assetsProbe) setHeaders(req *http.Request, ownOrigin bool) {
	if ownOrigin {
		for k, vs := range p.header {
			req.Header[k] = vs
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "shipprod-health/1")
	}
}

func orNoneType(ct string) string {
	if ct == "" {
		return "none"
	}
	return ct
}

// scan tokenizes the page and returns its asset references of the checked
// types, resolved against the page's URL and its <base href>.
func (p *assetsProbe) scan(r io.Reader, page *url.URL) ([]assetRef, error) {
	z := html.NewTokenizer(r)
	base := page
	baseSeen, inTemplate := false, 0
	seen := map[string]bool{}
	var refs []assetRef
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return refs, err
			}
			return refs, nil
		case html.EndTagToken:
			if name, _ := z.TagName(); atom.Lookup(name) == atom.Template && inTemplate > 0 {
				inTemplate--
			}
			continue
		case html.StartTagToken, html.SelfClosingTagToken:
		default:
			continue
		}
		tok := z.Token()
		switch {
		case tok.DataAtom == atom.Template:
			if tt == html.StartTagToken {
				inTemplate++
			}
		case inTemplate > 0:
		case tok.DataAtom == atom.Base && !baseSeen:
			if href, ok := attr(tok, "href"); ok {
				baseSeen = true // only the first <base href> counts
				if u, err := page.Parse(strings.TrimSpace(href)); err == nil {
					base = u
				}
			}
		default:
			if ref, ok := p.reference(tok, base); ok && !seen[ref.url.String()] {
				seen[ref.url.String()] = true
				refs = append(refs, ref)
			}
		}
	}
}

// reference reads an asset reference from a <script> or <link> tag.
func (p *assetsProbe) reference(tok html.Token, base *url.URL) (assetRef, bool) {
	var ref assetRef
	var href string
	switch tok.DataAtom {
	case atom.Script:
		typ, _ := attr(tok, "type")
		if !p.types[AssetScript] || !isScriptType(typ) {
			return ref, false
		}
		ref.kind = AssetScript
		href, _ = attr(tok, "src")
	case atom.Link:
		relAttr, _ := attr(tok, "rel")
		rels := strings.Fields(strings.ToLower(relAttr))
		as, _ := attr(tok, "as")
		switch {
		case slices.Contains(rels, "stylesheet") && p.types[AssetStyle]:
			ref.kind = AssetStyle
		case slices.Contains(rels, "modulepreload") && p.types[AssetPreload]:
			ref.kind, ref.as = AssetPreload, "script"
		case slices.Contains(rels, "preload") && p.types[AssetPreload]:
			ref.kind, ref.as = AssetPreload, strings.ToLower(strings.TrimSpace(as))
		default:
			return ref, false
		}
		href, _ = attr(tok, "href")
	default:
		return ref, false
	}
	href = strings.TrimSpace(href)
	if href == "" {
		return ref, false
	}
	u, err := base.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ref, false // data:, blob: and the like are not fetched
	}
	u.Fragment, u.RawFragment = "", ""
	ref.url = u
	return ref, true
}

// isScriptType reports whether a <script type> is JavaScript a browser
// fetches: none, "module" or a JavaScript MIME type. Others (importmap,
// application/json, text/template) are data.
func isScriptType(typ string) bool {
	typ = strings.ToLower(strings.TrimSpace(typ))
	if typ == "" || typ == "module" {
		return true
	}
	mt, _, err := mime.ParseMediaType(typ)
	return err == nil && isJavaScript(mt)
}

func attr(tok html.Token, name string) (string, bool) {
	for _, a := range tok.Attr {
		if a.Namespace == "" && a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// assetResult is what requesting one asset showed.
type assetResult struct {
	status      int
	contentType string
	problem     string // "" when the asset is fine
}

// fetchAll requests the assets, at most assetConcurrency at once; the
// results are in refs' order.
func (p *assetsProbe) fetchAll(ctx context.Context, page *url.URL, refs []assetRef) []assetResult {
	results := make([]assetResult, len(refs))
	sem := make(chan struct{}, assetConcurrency)
	var wg sync.WaitGroup
	for i, ref := range refs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return results
		}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = p.fetchAsset(ctx, page, ref)
		})
	}
	wg.Wait()
	return results
}

// fetchAsset requests one asset and judges its status, content type and
// the start of its body.
func (p *assetsProbe) fetchAsset(ctx context.Context, page *url.URL, ref assetRef) assetResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref.url.String(), nil)
	if err != nil {
		return assetResult{problem: fmt.Sprintf("building the request: %v", err)}
	}
	p.setHeaders(req, sameOrigin(ref.url, page))
	resp, err := p.client.Do(req)
	if err != nil {
		return assetResult{problem: describeTransportError(err).Error()}
	}
	defer resp.Body.Close()
	res := assetResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	head, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAssetBody))
	statusText := fmt.Sprintf("%d %s, content type %s", res.status, http.StatusText(res.status), orNoneType(res.contentType))
	words, ok := ref.want()
	mt, _, _ := mime.ParseMediaType(res.contentType)
	switch {
	case res.status != http.StatusOK:
		res.problem = statusText + ", want 200"
	case ok != nil && !ok(mt):
		res.problem = statusText + ", want " + words
	case ok != nil && (ref.kind == AssetScript || ref.kind == AssetStyle || ref.as == "script" || ref.as == "style") && looksLikeHTML(head):
		res.problem = statusText + ", but the body is an HTML document (" + snippet(head) + ")"
	case readErr != nil:
		res.problem = statusText + ", reading the body: " + readErr.Error()
	}
	return res
}

// looksLikeHTML reports whether a body starts like an HTML document: the
// SPA fallback's index.html served for a missing chunk.
func looksLikeHTML(body []byte) bool {
	b := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	for _, prefix := range []string{"<!doctype html", "<html"} {
		if len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Hostname() + ":443"
	case "http":
		return u.Hostname() + ":80"
	}
	return u.Host
}

// judge turns the results into the check's outcome: an error naming the
// first failing asset (in page order), or a message counting the assets.
func (p *assetsProbe) judge(page *url.URL, refs, checked []assetRef, results []assetResult, marker *regexp.Regexp) (Observation, error) {
	var problems []string
	failed, first := 0, -1
	for i, r := range results {
		if r.problem != "" {
			failed++
			if first < 0 {
				first = i
			}
		}
	}
	counts := p.counts(page, refs, checked)
	if failed > 0 {
		ref := checked[first]
		problems = append(problems, fmt.Sprintf("%d of %d assets of %s failed (%s); first: %s (%s): %s",
			failed, len(checked), redactURL(page.String()), counts, redactURL(ref.url.String()), ref.label(), results[first].problem))
	}
	matched := ""
	if marker != nil {
		for _, ref := range refs {
			if marker.MatchString(ref.url.String()) {
				matched = ref.url.String()
				break
			}
		}
		if matched == "" {
			problems = append(problems, fmt.Sprintf("no asset of %s matches expect_asset %q: the page may be the previous build (from a cache or an old deployment)", redactURL(page.String()), marker))
		}
	}
	if len(problems) > 0 {
		return Observation{}, errors.New(strings.Join(problems, "; "))
	}
	msg := fmt.Sprintf("%d assets of %s answer 200 with their content types (%s)", len(checked), redactURL(page.String()), counts)
	if matched != "" {
		msg += "; expect_asset matches " + redactURL(matched)
	}
	return Observation{Message: msg}, nil
}

// counts describes the assets checked: "5 script, 3 style, 4 preload; 2
// on other origins; 50 of 500 referenced (max 50)".
func (p *assetsProbe) counts(page *url.URL, refs, checked []assetRef) string {
	n := map[string]int{}
	other := 0
	for _, ref := range checked {
		n[ref.kind]++
		if !sameOrigin(ref.url, page) {
			other++
		}
	}
	var parts []string
	for _, t := range assetTypes {
		if n[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[t], t))
		}
	}
	s := strings.Join(parts, ", ")
	if other > 0 {
		s += fmt.Sprintf("; %d on other origins", other)
	}
	if len(checked) < len(refs) {
		s += fmt.Sprintf("; %d of %d referenced (max %d)", len(checked), len(refs), p.max)
	}
	return s
}

// label names a reference's kind in a message: "script", "style",
// "preload as font".
func (r assetRef) label() string {
	if r.kind == AssetPreload && r.as != "" {
		return "preload as " + r.as
	}
	return r.kind
}
