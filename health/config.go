package health

import (
	"time"
)

// Defaults for the zero Config.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultPeriod           = 5 * time.Second
	DefaultSuccessThreshold = 1
	DefaultFailureThreshold = 3
	DefaultConcurrency      = 64
	DefaultMaxRedirects     = 10
)

// Config is the health section of shipprod.yaml:
//
//	health:
//	  base_url: https://example.com   # "" means the Deployment's URL
//	  timeout: 5s                     # default per-attempt timeout
//	  concurrency: 64                 # checks running at once
//	  failure_threshold: 3            # defaults for every check
//	  checks:
//	    - name: home
//	      http: /
//	      expect_status: 200
//	    - name: live-version
//	      version: /api/version
//
// Every field's zero value means its default. Timing fields set here are the
// defaults of every check; a check may override each of them.
type Config struct {
	// BaseURL is what relative URLs are resolved against. Empty means the
	// URL of the Deployment being checked.
	BaseURL string `yaml:"base_url"`
	// Concurrency bounds how many checks run at once (default 64).
	Concurrency int `yaml:"concurrency"`
	Timing      `yaml:",inline"`
	Checks      []CheckConfig `yaml:"checks"`
}

// Timing are the Kubernetes-style probe settings of a check.
//
// After InitialDelay the check is attempted every Period, each attempt bounded
// by Timeout, until SuccessThreshold attempts in a row succeeded (the check
// passes) or FailureThreshold attempts in a row failed (it fails). A check that
// keeps flapping fails after MaxAttempts attempts.
type Timing struct {
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Period is the wait between attempts (default 5s).
	Period time.Duration `yaml:"period"`
	// InitialDelay is waited once before the first attempt (default 0).
	InitialDelay time.Duration `yaml:"initial_delay"`
	// SuccessThreshold is the number of consecutive successes that pass the
	// check (default 1).
	SuccessThreshold int `yaml:"success_threshold"`
	// FailureThreshold is the number of consecutive failures that fail the
	// check (default 3).
	FailureThreshold int `yaml:"failure_threshold"`
	// MaxAttempts bounds the attempts of a check that neither passes nor
	// fails (default 2 × (SuccessThreshold + FailureThreshold)).
	MaxAttempts int `yaml:"max_attempts"`
}

// withDefaults fills t's zero fields from def, then from the package defaults.
func (t Timing) withDefaults(def Timing) Timing {
	pick := func(v, d time.Duration, fallback time.Duration) time.Duration {
		if v != 0 {
			return v
		}
		if d != 0 {
			return d
		}
		return fallback
	}
	pickInt := func(v, d, fallback int) int {
		if v != 0 {
			return v
		}
		if d != 0 {
			return d
		}
		return fallback
	}
	out := Timing{
		Timeout:          pick(t.Timeout, def.Timeout, DefaultTimeout),
		Period:           pick(t.Period, def.Period, DefaultPeriod),
		InitialDelay:     pick(t.InitialDelay, def.InitialDelay, 0),
		SuccessThreshold: pickInt(t.SuccessThreshold, def.SuccessThreshold, DefaultSuccessThreshold),
		FailureThreshold: pickInt(t.FailureThreshold, def.FailureThreshold, DefaultFailureThreshold),
	}
	out.MaxAttempts = pickInt(t.MaxAttempts, def.MaxAttempts, 2*(out.SuccessThreshold+out.FailureThreshold))
	return out
}

// CheckConfig is one check. Exactly one of the kind keys — http, version,
// assets, tcp, dns, sql, redis, command, custom — says what it checks.
//
//	checks:
//	  - name: api
//	    http: /api/health                # relative to base_url, or absolute
//	    expect_status: 200               # exact; default 200
//	    expect_json:                     # jq expressions that must hold
//	      - '.database == "connected"'
//	      - '.checks | map(.status == "up") | all'
//	    max_latency: 800ms
//	  - name: live-version
//	    version: /api/version            # must report the version just shipped
//	    version_field: .build.version    # default .version for JSON bodies
//	  - name: assets
//	    assets: {page: /, types: [script, style, preload], max: 50, expect_asset: 'main\.[0-9a-f]{8}\.js'}
//	  - name: db
//	    sql: {driver: pgx, dsn_env: DATABASE_URL, query: "SELECT 1"}
//	  - name: cache
//	    redis: {addr: "cache:6380", password_env: REDIS_PASSWORD, tls: {enabled: true}}
//	  - name: worker
//	    command: [/usr/local/bin/check-worker, --queue, default]
type CheckConfig struct {
	// Name names the check in the output, the report and the monitor's
	// health gates.
	Name string `yaml:"name"`

	// HTTP is a URL (absolute, or relative to the base URL) whose response
	// must match the expectations below.
	HTTP string `yaml:"http"`
	// Version is a URL that must report the version being shipped
	// (shipprod.Release.Version, with or without a leading "v").
	Version string `yaml:"version"`
	// Assets is a page whose static assets (scripts, stylesheets,
	// preloads) must all answer 200 with their content type: see
	// AssetsConfig.
	Assets *AssetsConfig `yaml:"assets"`
	// TCP is a host:port that must accept a connection.
	TCP string `yaml:"tcp"`
	// DNS is a host name that must resolve.
	DNS string `yaml:"dns"`
	// SQL is a database that must answer a ping (and a query).
	SQL *SQLConfig `yaml:"sql"`
	// Redis is a Redis server that must answer PING.
	Redis *RedisConfig `yaml:"redis"`
	// Command is a program and its arguments, run without a shell; it must
	// exit with ExpectExit.
	Command []string `yaml:"command"`
	// Custom names a kind registered in Options.Kinds; Args are its arguments.
	Custom string            `yaml:"custom"`
	Args   map[string]string `yaml:"args"`

	Timing `yaml:",inline"`

	HTTPOptions `yaml:",inline"`

	// VersionField is a jq expression, usually a path such as
	// .build.version, whose first value is the version in the JSON
	// response (version checks; default ".version" for JSON bodies, else
	// the trimmed body).
	VersionField string `yaml:"version_field"`
	// VersionRegex extracts the version from the body: its first capture
	// group, or the whole match.
	VersionRegex string `yaml:"version_regex"`
	// VersionHeader reads the version from a response header instead.
	VersionHeader string `yaml:"version_header"`

	// MinAddresses is the least number of addresses a DNS name must resolve
	// to (default 1).
	MinAddresses int `yaml:"min_addresses"`
	// ExpectAddresses must all be among the addresses a DNS name resolves to.
	ExpectAddresses []string `yaml:"expect_addresses"`

	// ExpectExit is the exit status a command must end with (default 0).
	ExpectExit int `yaml:"expect_exit"`
	// Dir is the command's working directory (default Options.Dir).
	Dir string `yaml:"dir"`
	// Env adds KEY=VALUE entries to the command's environment.
	Env []string `yaml:"env"`
}

// HTTPOptions are the settings of http and version checks.
type HTTPOptions struct {
	// Method defaults to GET.
	Method string `yaml:"method"`
	// Headers are sent with the request.
	Headers map[string]string `yaml:"headers"`
	// HeadersFromEnv maps a header to the environment variable holding its
	// value (e.g. Authorization: HEALTH_TOKEN). The values are secrets and
	// are masked everywhere.
	HeadersFromEnv map[string]string `yaml:"headers_from_env"`
	// ExpectStatus is the exact status the response must have (default 200).
	ExpectStatus int `yaml:"expect_status"`
	// FollowRedirects follows up to MaxRedirects redirects (default 10);
	// without it a redirect is the response, and fails unless ExpectStatus
	// says it is expected.
	FollowRedirects bool `yaml:"follow_redirects"`
	MaxRedirects    int  `yaml:"max_redirects"`
	// ExpectBody must occur in the body.
	ExpectBody string `yaml:"expect_body"`
	// ExpectBodyRegex must match the body.
	ExpectBodyRegex string `yaml:"expect_body_regex"`
	// ExpectJSON are jq expressions on the JSON body that must hold: each
	// must yield values that are neither null nor false, such as
	// `.database == "connected"`, `.replicas >= 2`, `.ready` (present and
	// neither null nor false) or `.checks | map(.status == "up") | all`.
	// They are compiled when the configuration is loaded. See Expr.
	ExpectJSON []string `yaml:"expect_json"`
	// ExpectHeaders are response headers and the exact values they must have.
	ExpectHeaders map[string]string `yaml:"expect_headers"`
	// MaxLatency is the latency budget of the response, body included.
	MaxLatency time.Duration `yaml:"max_latency"`
	// HealthJSON reads the body as application/health+json even when the
	// response does not say so. Responses of that type are always read.
	HealthJSON bool `yaml:"health_json"`
	// InsecureSkipVerify disables TLS certificate verification.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// isZero reports whether no HTTP option is set.
func (o HTTPOptions) isZero() bool {
	return o.Method == "" && len(o.Headers) == 0 && len(o.HeadersFromEnv) == 0 && o.ExpectStatus == 0 &&
		!o.FollowRedirects && o.MaxRedirects == 0 && o.ExpectBody == "" && o.ExpectBodyRegex == "" &&
		len(o.ExpectJSON) == 0 && len(o.ExpectHeaders) == 0 && o.MaxLatency == 0 && !o.HealthJSON && !o.InsecureSkipVerify
}

// AssetsConfig is an assets check: it fetches Page, finds the static
// assets the page references, requests each one and wants every one to
// answer 200 with the content type its reference expects. It catches a
// CDN or cache serving the previous build's HTML (whose hashed chunks are
// gone), new chunks that were not uploaded, and the SPA fallback answering
// 200 text/html for a missing .js.
//
//	checks:
//	  - name: assets
//	    assets:
//	      page: /                          # default /, relative to base_url, or absolute
//	      types: [script, style, preload]  # default all three
//	      max: 50                          # assets requested, in page order; default 50
//	      expect_asset: 'main\.[0-9a-f]{8}\.js'   # optional: the new build's marker
//	    headers: {X-Preview-Token: abc}    # sent to the page's origin only
//
// The references are <script src> (classic or module scripts), <link
// rel=stylesheet href> and <link rel=preload|modulepreload href>, outside
// <template>, resolved against the page's final URL (after redirects) and
// its <base href>: relative, root-relative, protocol-relative ("//cdn/x.js")
// and absolute URLs, query strings kept, fragments dropped, each URL
// requested once. Assets on the page's origin are requested there (the
// deployment being checked); assets on another origin, such as a CDN host,
// are requested where they are, as a browser would, without the check's
// headers, which are never sent to another origin (nor kept across a
// redirect to one). Redirects are followed (at most 10), as a browser
// does; the page must end in 200 with an HTML content type.
//
// The expected content types are JavaScript (text/javascript,
// application/javascript and the other JavaScript MIME types) for scripts,
// modulepreloads and preloads as=script; text/css for stylesheets and
// preloads as=style; image/* for preloads as=image; a non-text type for
// preloads as=font; and any type for other preloads. A script or
// stylesheet whose body starts like an HTML document fails too, whatever
// its content type says.
//
// At most 8 assets are requested at once, and at most 64 KiB of each body
// and 8 MiB of the page are read. The check's timeout (default 10s) bounds
// the whole attempt, page and assets together.
type AssetsConfig struct {
	// Page is the page whose assets are checked: a URL relative to the base
	// URL, or absolute. Default "/".
	Page string `yaml:"page"`
	// Types are the references checked: script, style and preload
	// (rel=preload and rel=modulepreload). Default all three.
	Types []string `yaml:"types"`
	// Max caps the assets requested, the first ones in the page's order
	// (default 50). The rest are counted in the message, not requested.
	Max int `yaml:"max"`
	// ExpectAsset is a regular expression (Go syntax) that at least one
	// asset URL the page references (of the checked types, requested or
	// not) must match: the marker of the build just shipped, such as
	// `main\.3f9a1c2b\.js` or `/_next/static/{version}/`. "{version}" is
	// replaced by the release's version, quoted. A page without it is the
	// previous build, served from a cache or an old deployment.
	ExpectAsset string `yaml:"expect_asset"`
}

// SQLConfig is a database checked through database/sql.
type SQLConfig struct {
	// Driver is a database/sql driver name the program registered, e.g.
	// "pgx" after `import _ "github.com/jackc/pgx/v5/stdlib"`.
	Driver string `yaml:"driver"`
	// DSNEnv names the environment variable holding the DSN (preferred:
	// DSNs usually hold a password).
	DSNEnv string `yaml:"dsn_env"`
	// DSN is the DSN itself; it is masked everywhere all the same.
	DSN string `yaml:"dsn"`
	// Query, when set, is run after the ping; its first column of the first
	// row must equal Expect when Expect is set.
	Query  string `yaml:"query"`
	Expect string `yaml:"expect"`
}

// RedisConfig is a Redis server checked with PING.
type RedisConfig struct {
	// Addr is host:port.
	Addr string `yaml:"addr"`
	// Username is for Redis 6 ACLs; empty means the default user.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	// DB is selected after authenticating when not 0.
	DB  int       `yaml:"db"`
	TLS TLSConfig `yaml:"tls"`
}

// TLSConfig enables and tunes TLS for a Redis check.
type TLSConfig struct {
	// Enabled connects with TLS.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the CAs to trust (default the system pool).
	CAFile string `yaml:"ca_file"`
	// ServerName overrides the name verified in the certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables the verification of the server's
	// certificate.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}
