package confdoc

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/cli"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/judge"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/internal/github"
	"github.com/shipprod/shipprod/internal/httpretry"
	"github.com/shipprod/shipprod/notify"
	"github.com/shipprod/shipprod/provider/githubactions"
	"github.com/shipprod/shipprod/provider/vercel"
	"github.com/shipprod/shipprod/report"
	"github.com/shipprod/shipprod/tag"
	"github.com/shipprod/shipprod/version"
)

// annotation is what the types do not say about a key: its default (a
// value, or words when it is not one value) and the values it takes.
type annotation struct {
	def     any
	defText string
	enum    []any
	pattern string
}

// dur writes a duration as shipprod.yaml takes it: "15m", not "15m0s".
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func strs(values ...string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// versionPattern is version.bump: a level, or an exact version.
const versionPattern = `^(auto|major|minor|patch|v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?)$`

// annotations are by key path. The defaults come from the packages' own
// constants where they have them. annotate fails on a path that is not a
// key, and on a key whose description speaks of a default that is not
// here, so that the table cannot fall behind the types.
func annotations() map[string]annotation {
	a := releaseAnnotations()
	maps.Copy(a, deployAnnotations())
	maps.Copy(a, checkAnnotations())
	timing(a, "health", health.Timing{Timeout: health.DefaultTimeout, Period: health.DefaultPeriod,
		SuccessThreshold: health.DefaultSuccessThreshold, FailureThreshold: health.DefaultFailureThreshold})
	for _, base := range []string{"deploy.follow_ci", "deploy.github-actions"} {
		watch(a, base)
	}
	return a
}

// releaseAnnotations are the keys of the state, gates, version, git, tag
// and github sections.
func releaseAnnotations() map[string]annotation {
	return map[string]annotation{
		"state.path":  {defText: "the highest-numbered specs/NNN-*/state.yaml, else epics/NNN-*/state.yaml"},
		"state.write": {def: true},

		"version.bump":           {def: "auto", pattern: versionPattern},
		"version.tag_prefix":     {def: version.DefaultTagPrefix},
		"version.initial":        {def: version.DefaultInitial},
		"version.files":          {defText: "package.json and VERSION, when they exist"},
		"version.changelog":      {def: version.DefaultChangelog},
		"version.commit_message": {def: version.DefaultCommitMessage},
		"version.bump_from":      {def: strs(version.FromCommits, version.FromChangelog)},
		"version.bump_from[]":    {enum: strs(version.FromCommits, version.FromChangelog)},
		"version.current_from":   {def: strs(version.SourceTag, "package.json", "VERSION", version.FromChangelog)},
		"version.trust":          {defText: "none: when the sources disagree, that is an error"},
		"version.types":          {defText: "feat: minor; fix, perf and revert: patch; any other type: none"},
		"version.types.*":        {enum: strs("major", "minor", "patch", "none")},
		"version.breaking_in_0x": {def: "minor", enum: strs("minor", "major")},
		"version.feature_in_0x":  {def: "minor", enum: strs("minor", "patch")},
		"version.max_reasons":    {def: version.DefaultMaxReasons},

		"git.remote": {def: "origin"},
		"git.branch": {defText: "the branch checked out"},

		"tag.prefix":             {def: version.DefaultTagPrefix},
		"tag.message":            {def: tag.DefaultMessage},
		"tag.delete_on_rollback": {def: false},

		"github.repository":              {defText: "parsed from the git remote's URL"},
		"github.api_url":                 {def: github.DefaultAPIURL},
		"github.token_env":               {defText: strings.Join(github.DefaultTokenEnvs, ", else ")},
		"github.max_rate_limit_wait":     {def: dur(github.DefaultMaxRateLimitWait)},
		"github.max_retries":             {def: httpretry.DefaultMaxRetries},
		"github.release.name":            {def: tag.DefaultReleaseName},
		"github.release.prerelease":      {def: "auto", enum: append(strs("auto", "true", "false"), true, false)},
		"github.release.make_latest":     {def: "auto", enum: append(strs("auto", "true", "false", "legacy"), true, false)},
		"github.deployments.environment": {def: "production"},
	}
}

// deployAnnotations are the keys of the deploy section.
func deployAnnotations() map[string]annotation {
	return map[string]annotation{
		"deploy.provider":           {enum: append(strs(deployerNames()...), cli.NoDeployer)},
		"deploy.follow_ci.workflow": {defText: "any workflow the push triggers"},

		"deploy.git-push.remote": {def: "origin"},
		"deploy.git-push.branch": {def: "production"},

		"deploy.github-actions.trigger":            {def: githubactions.TriggerDispatch, enum: strs(githubactions.TriggerDispatch, githubactions.TriggerPush)},
		"deploy.github-actions.ref":                {def: "{{.Tag}}"},
		"deploy.github-actions.correlation_input":  {defText: "detected from the workflow file"},
		"deploy.github-actions.return_run_details": {def: true},
		"deploy.github-actions.environment":        {def: "production"},
		"deploy.github-actions.rollback.workflow":  {defText: "the deploy workflow"},
		"deploy.github-actions.rollback.ref":       {def: "{{.Tag}}"},
		"deploy.github-actions.rollback.inputs":    {defText: "the deploy inputs"},

		"deploy.vercel.project":             {defText: "VERCEL_PROJECT_ID, else .vercel/project.json"},
		"deploy.vercel.team":                {defText: "VERCEL_ORG_ID, else .vercel/project.json"},
		"deploy.vercel.mode":                {def: vercel.ModePromote, enum: strs(vercel.ModePromote, vercel.ModeBuild)},
		"deploy.vercel.token_env":           {def: vercel.DefaultTokenEnv},
		"deploy.vercel.url":                 {defText: "the deployment's first alias"},
		"deploy.vercel.timeout":             {def: dur(vercel.DefaultTimeout)},
		"deploy.vercel.poll_interval":       {def: dur(vercel.DefaultPollInterval)},
		"deploy.vercel.max_rate_limit_wait": {def: dur(vercel.DefaultMaxRateLimitWait)},
		"deploy.vercel.api_url":             {def: vercel.DefaultAPIURL},
		"deploy.vercel.git_source":          {defText: "the project's linked repository"},
		"deploy.vercel.git_source.type":     {enum: strs("github", "gitlab", "bitbucket")},
	}
}

// checkAnnotations are the keys of the health, monitor, report, journal,
// on_failure and notify sections.
func checkAnnotations() map[string]annotation {
	return map[string]annotation{
		"health.base_url":                   {defText: "the URL of the deployment checked"},
		"health.concurrency":                {def: health.DefaultConcurrency},
		"health.checks[].method":            {def: "GET"},
		"health.checks[].follow_redirects":  {def: false},
		"health.checks[].expect_status":     {def: 200},
		"health.checks[].max_redirects":     {def: health.DefaultMaxRedirects},
		"health.checks[].version_field":     {defText: ".version for a JSON body, else the whole body"},
		"health.checks[].min_addresses":     {def: 1},
		"health.checks[].expect_exit":       {def: 0},
		"health.checks[].dir":               {defText: "the project root"},
		"health.checks[].redis.tls.ca_file": {defText: "the system's CAs"},

		"monitor.window":                          {def: dur(monitor.DefaultWindow)},
		"monitor.interval":                        {def: dur(monitor.DefaultInterval)},
		"monitor.initial_delay":                   {def: "0s"},
		"monitor.keep_measurements":               {def: monitor.DefaultKeepMeasurements},
		"monitor.prometheus.timeout":              {def: dur(monitor.DefaultPrometheusTimeout)},
		"monitor.gates[].health.checks":           {defText: "every health check"},
		"monitor.gates[].health.max_failure_rate": {def: 0},
		"monitor.gates[].alerts.labels":           {defText: "severity: critical"},
		"monitor.gates[].alerts.max":              {def: 0},
		"monitor.gates[].compare":                 {enum: strs(string(monitor.CompareThreshold), string(monitor.CompareIncrease), string(monitor.CompareRatio), string(monitor.CompareCanary))},
		"monitor.gates[].judge.direction":         {def: string(judge.Increase), enum: strs(string(judge.Increase), string(judge.Decrease), string(judge.Either))},
		"monitor.gates[].judge.allowed_increase":  {def: judge.DefaultAllowedIncrease},
		"monitor.gates[].judge.allowed_decrease":  {def: judge.DefaultAllowedDecrease},
		"monitor.gates[].judge.weight":            {defText: "an equal share of what the weighted groups leave"},
		"monitor.gates[].judge.group":             {defText: "a group of its own"},
		"monitor.gates[].judge.outliers":          {def: "keep", enum: strs("keep", "remove")},
		"monitor.gates[].judge.outlier_factor":    {def: judge.DefaultOutlierFactor},
		"monitor.judge.pass":                      {def: judge.DefaultPass},
		"monitor.judge.marginal":                  {def: judge.DefaultMarginal},
		"monitor.judge.confidence":                {def: judge.DefaultConfidence},
		"monitor.judge.tolerance":                 {def: judge.DefaultTolerance},
		"monitor.judge.min_points":                {def: judge.DefaultMinPoints},
		"records.commit":                          {def: false},
		"records.message":                         {def: report.DefaultRecordsMessage},
		"records.push":                            {def: true},
		"health.checks[].assets.page":             {def: "/"},
		"health.checks[].assets.types":            {defText: "script, style and preload"},
		"health.checks[].assets.max":              {def: health.DefaultAssetsMax},
		"monitor.gates[].worse":                   {def: "higher", enum: strs("higher", "lower")},
		"monitor.gates[].baseline_query":          {defText: "query, run before the deploy"},
		"monitor.gates[].no_data":                 {def: string(monitor.NoDataInconclusive), enum: strs(string(monitor.NoDataInconclusive), string(monitor.NoDataPass), string(monitor.NoDataFail), string(monitor.NoDataError))},
		"monitor.gates[].unit":                    {enum: strs("", "ratio", "percent", "seconds", "ms")},
		"monitor.gates[].failure_limit":           {def: 0},
		"monitor.gates[].inconclusive_limit":      {def: 0},
		"monitor.gates[].consecutive_error_limit": {def: monitor.DefaultConsecutiveErrorLimit},

		"report.path": {defText: report.DefaultPath + " beside the state file, else at the project root"},
		"report.json": {defText: "path, with .json"},

		"journal.path": {def: ".git/" + journalName},

		"on_failure.policy": {def: string(shipprod.PolicyRollback), enum: strs(string(shipprod.PolicyRollback), string(shipprod.PolicyFreeze), string(shipprod.PolicyNotify))},

		"notify.timeout":        {def: dur(notify.DefaultTimeout)},
		"notify.targets[].type": {enum: strs(notify.TypeSlack, notify.TypeWebhook)},
		"notify.targets[].on":   {defText: "every outcome but nothing-to-release"},
		"notify.targets[].on[]": {enum: outcomes()},
	}
}

// journalName is where journal.InGitDir keeps the journal, inside the git
// directory.
const journalName = "shipprod/journal.json"

// timing adds the probe settings of the health section and of each check,
// whose defaults are the section's.
func timing(a map[string]annotation, base string, def health.Timing) {
	a[base+".timeout"] = annotation{def: dur(def.Timeout)}
	a[base+".period"] = annotation{def: dur(def.Period)}
	a[base+".initial_delay"] = annotation{def: "0s"}
	a[base+".success_threshold"] = annotation{def: def.SuccessThreshold}
	a[base+".failure_threshold"] = annotation{def: def.FailureThreshold}
	a[base+".max_attempts"] = annotation{defText: "2 × (success_threshold + failure_threshold)"}
	for _, key := range []string{"timeout", "period", "initial_delay", "success_threshold", "failure_threshold", "max_attempts"} {
		a[base+".checks[]."+key] = annotation{defText: "the section's " + key}
	}
}

// watch adds the run-following settings of the GitHub Actions deployer.
func watch(a map[string]annotation, base string) {
	a[base+".repository"] = annotation{defText: "github.repository, else the git remote's URL"}
	a[base+".api_url"] = annotation{defText: "github.api_url, else " + github.DefaultAPIURL}
	a[base+".token_env"] = annotation{defText: "github.token_env, else " + strings.Join(github.DefaultTokenEnvs, ", then ")}
	a[base+".max_rate_limit_wait"] = annotation{def: dur(github.DefaultMaxRateLimitWait)}
	a[base+".timeout"] = annotation{def: dur(githubactions.DefaultTimeout)}
	a[base+".discovery_timeout"] = annotation{def: dur(githubactions.DefaultDiscoveryTimeout)}
	a[base+".poll_interval"] = annotation{def: dur(githubactions.DefaultPollInterval)}
	a[base+".max_poll_interval"] = annotation{def: dur(githubactions.DefaultMaxPollInterval)}
	a[base+".clock_skew"] = annotation{def: dur(githubactions.DefaultClockSkew)}
}

func deployerNames() []string {
	names := make([]string, 0, len(Deployers))
	for n := range Deployers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func outcomes() []any {
	var out []any
	for _, o := range notify.Outcomes() {
		out = append(out, string(o))
	}
	return out
}

// speaksOfDefault finds a description that says what a key defaults to.
var speaksOfDefault = regexp.MustCompile(`(?i)\bdefaults?\b|\bnil means\b|\bempty means\b`)

// annotate puts the annotations on the keys, and fails on one that names
// no key, or a key that speaks of a default the table does not give.
func annotate(doc *node) error {
	a := annotations()
	byPath := map[string]*node{}
	doc.walk(func(n *node) { byPath[n.path] = n })
	for path, ann := range a {
		n, ok := byPath[path]
		if !ok {
			return fmt.Errorf("confdoc: the annotation of %s names no key of shipprod.yaml", path)
		}
		n.def, n.defText, n.enum = ann.def, ann.defText, ann.enum
		if ann.pattern != "" {
			n.pattern = ann.pattern
		}
	}
	var missing []string
	doc.walk(func(n *node) {
		if n.kind != kObject && n.def == nil && n.defText == "" && speaksOfDefault.MatchString(n.desc) && !strings.Contains(n.desc, "means the default") {
			missing = append(missing, n.path)
		}
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("confdoc: the description of %s speaks of a default: give it in annotations.go", strings.Join(missing, ", "))
	}
	return nil
}
