package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
)

// schemaTypes are the documented payload of each schema the commands of
// this helper write.
var schemaTypes = map[string]reflect.Type{
	SchemaEvent:    reflect.TypeFor[JSONEvent](),
	SchemaResult:   reflect.TypeFor[JSONResult](),
	SchemaPlan:     reflect.TypeFor[JSONPlan](),
	SchemaVersion:  reflect.TypeFor[JSONVersion](),
	SchemaCheck:    reflect.TypeFor[JSONCheckReport](),
	SchemaStatus:   reflect.TypeFor[JSONStatus](),
	SchemaRollback: reflect.TypeFor[JSONRollbackRun](),
	SchemaInit:     reflect.TypeFor[JSONInit](),
	SchemaDemo:     reflect.TypeFor[JSONDemo](),
	SchemaError:    reflect.TypeFor[JSONError](),
}

// contractLine is one --json line decoded into its documented type.
type contractLine struct {
	schema string
	value  any // *JSONEvent, *JSONResult, …
}

// decodeContract decodes --json output strictly: every line is one object
// whose first key is "schema", naming a documented schema; its other keys
// decode into the documented type with no key unknown, and every
// documented key is present (the line equals the type's own encoding of
// it, so no key is missing and every timestamp is in the documented form).
func decodeContract(t *testing.T, out string) []contractLine {
	t.Helper()
	for line := range strings.Lines(out) {
		require.True(t, strings.HasPrefix(line, `{"schema":"`), "the first key is schema: %s", line)
	}
	var lines []contractLine
	for _, fields := range decodeJSONLines(t, out) {
		var schema string
		require.NoError(t, json.Unmarshal(fields["schema"], &schema))
		typ, ok := schemaTypes[schema]
		require.True(t, ok, "unknown schema %q", schema)
		delete(fields, "schema")
		payload := mustJSON(t, fields)
		v := reflect.New(typ).Interface()
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(v), "%s line: %s", schema, payload)
		assert.JSONEq(t, string(payload), string(mustJSON(t, v)), "a %s line has every documented key, in the documented form", schema)
		lines = append(lines, contractLine{schema: schema, value: v})
	}
	return lines
}

// docSections maps the sections of docs/json.md (by the first `name` in
// their heading) to the type each documents.
var docSections = map[string]reflect.Type{
	SchemaEvent:       reflect.TypeFor[JSONEvent](),
	SchemaResult:      reflect.TypeFor[JSONResult](),
	SchemaPlan:        reflect.TypeFor[JSONPlan](),
	SchemaVersion:     reflect.TypeFor[JSONVersion](),
	SchemaCheck:       reflect.TypeFor[JSONCheckReport](),
	SchemaStatus:      reflect.TypeFor[JSONStatus](),
	SchemaRollback:    reflect.TypeFor[JSONRollbackRun](),
	SchemaInit:        reflect.TypeFor[JSONInit](),
	SchemaDemo:        reflect.TypeFor[JSONDemo](),
	SchemaError:       reflect.TypeFor[JSONError](),
	"action":          reflect.TypeFor[JSONAction](),
	"progress":        reflect.TypeFor[JSONProgress](),
	"gates":           reflect.TypeFor[JSONGates](),
	"gate":            reflect.TypeFor[JSONGate](),
	"release":         reflect.TypeFor[JSONRelease](),
	"reason":          reflect.TypeFor[JSONReason](),
	"deployment":      reflect.TypeFor[JSONDeployment](),
	"health":          reflect.TypeFor[JSONHealth](),
	"check":           reflect.TypeFor[JSONCheck](),
	"monitor":         reflect.TypeFor[JSONMonitor](),
	"monitor gate":    reflect.TypeFor[JSONMonitorGate](),
	"rollout":         reflect.TypeFor[JSONRollout](),
	"stage run":       reflect.TypeFor[JSONStageRun](),
	"rollback":        reflect.TypeFor[JSONRollback](),
	"release name":    reflect.TypeFor[JSONTarget](),
	"step":            reflect.TypeFor[JSONStep](),
	"planned step":    reflect.TypeFor[JSONPlannedStep](),
	"preflight check": reflect.TypeFor[JSONPreflightCheck](),
	"production":      reflect.TypeFor[JSONProduction](),
	"last run":        reflect.TypeFor[JSONLastRun](),
	"lock":            reflect.TypeFor[JSONLock](),
	"detected":        reflect.TypeFor[JSONDetected](),
	"vercel":          reflect.TypeFor[JSONVercel](),
	"next step":       reflect.TypeFor[JSONNextStep](),
}

// docFields reads docs/json.md: for each section, the field names its
// table lists (the first cell of each row, in backquotes).
func docFields(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docs", "json.md"))
	require.NoError(t, err)
	heading := regexp.MustCompile("^#+ .*?`([^`]+)`")
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\|")
	sections := map[string][]string{}
	var current string
	for line := range strings.SplitSeq(string(data), "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			current = m[1]
			sections[current] = []string{}
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && current != "" {
			sections[current] = append(sections[current], m[1])
		}
	}
	return sections
}

func jsonFieldNames(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// docs/json.md documents every field of every payload, and nothing else;
// every object a payload holds has a section of its own.
func TestJSONDocumentsEveryField(t *testing.T) {
	doc := docFields(t)
	for section, typ := range docSections {
		fields, ok := doc[section]
		if !assert.True(t, ok, "docs/json.md has no section for %s (%s)", section, typ.Name()) {
			continue
		}
		want := jsonFieldNames(typ)
		if _, isSchema := schemaTypes[section]; isSchema {
			want = append([]string{"schema"}, want...)
		}
		assert.Equal(t, want, fields, "the fields documented for %s (%s), in order", section, typ.Name())
	}
	// Every object reachable from a payload is documented.
	documented := map[reflect.Type]bool{}
	for _, typ := range docSections {
		documented[typ] = true
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeFor[Timestamp]() || seen[typ] {
			return
		}
		seen[typ] = true
		assert.True(t, documented[typ], "%s has no section in docs/json.md", typ.Name())
		for f := range typ.Fields() {
			assert.NotEqual(t, reflect.TypeFor[time.Duration](), f.Type, "%s.%s: durations are _ms integers", typ.Name(), f.Name)
			assert.NotEqual(t, reflect.TypeFor[time.Time](), f.Type, "%s.%s: times are Timestamps", typ.Name(), f.Name)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Type == reflect.TypeFor[int64]() || f.Type == reflect.TypeFor[*int64]() {
				assert.True(t, strings.HasSuffix(name, "_ms"), "%s.%s: an integer duration's key ends in _ms", typ.Name(), f.Name)
			}
			assert.NotContains(t, f.Tag.Get("json"), "omitempty", "%s.%s: every key is always present", typ.Name(), f.Name)
			walk(f.Type)
		}
	}
	for _, typ := range schemaTypes {
		walk(typ)
	}
}

// A run's result holds everything the run did, each field in the
// documented form: milliseconds, RFC 3339 in UTC, [] for no items.
func TestResultJSONConvertsEveryField(t *testing.T) {
	start := time.Date(2026, 10, 1, 14, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	dep := shipprod.Deployment{Provider: "vercel", ID: "dpl_1", URL: "https://shop.example", Environment: "production",
		Commit: "abc", Version: "2.7.0", Tag: "v2.7.0", StartedAt: start, FinishedAt: start.Add(90 * time.Second),
		PreviousID: "dpl_0", RollbackSteps: []string{"vercel rollback dpl_0"}, Details: map[string]string{"inspector": "https://vercel.com/x"}}
	health := &shipprod.HealthReport{CheckedAt: start, Duration: 1500 * time.Microsecond, Checks: []shipprod.CheckResult{
		{Name: "api", Kind: "http", Target: "https://shop.example/health", Status: shipprod.HealthFail, Attempts: 3, Latency: 41400 * time.Microsecond, Error: "503"}}}
	res := &shipprod.Result{
		Outcome: shipprod.OutcomeRolledBack, StartedAt: start, FinishedAt: start.Add(time.Hour),
		Release:    shipprod.Release{Version: "2.7.0", PreviousVersion: "2.6.3", Tag: "v2.7.0", Bump: shipprod.BumpMinor, ReleaseURL: "https://github.com/o/r/releases/tag/v2.7.0"},
		Deployment: &dep, Health: health,
		Monitor: &shipprod.MonitorReport{StartedAt: start, FinishedAt: start.Add(15 * time.Minute), Window: 15 * time.Minute, Verdict: shipprod.VerdictFailed,
			Gates: []shipprod.MonitorGateResult{{Name: "errors", Verdict: shipprod.VerdictFailed, Measurements: 5, Failures: 2}}},
		Rollback: &shipprod.RollbackReport{Reason: "unhealthy", Target: shipprod.Release{Version: "2.6.3", Tag: "v2.6.3"}, Restored: dep},
		Steps:    []shipprod.StepRecord{{Step: shipprod.StepHealth, Status: shipprod.StepFailed, StartedAt: start, Duration: 2499 * time.Microsecond, Error: "1 of 1 failed"}},
	}
	var buf bytes.Buffer
	require.NoError(t, (&jsonLines{w: &buf}).write(SchemaResult, encodeResult(res, ExitUnhealthy)))
	lines := decodeContract(t, buf.String())
	require.Len(t, lines, 1)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &raw))
	assert.Equal(t, "2026-10-01T12:00:00.123Z", raw["started_at"], "RFC 3339, UTC, milliseconds")
	assert.Nil(t, raw["resumed_from"], "an unknown time is null")
	assert.Equal(t, []any{}, raw["warnings"], "no warnings is [], not null")
	got := lines[0].value.(*JSONResult)
	assert.Equal(t, 4, got.ExitCode)
	assert.Equal(t, int64(2), got.Steps[0].DurationMS, "2.499ms rounds to 2")
	assert.Equal(t, int64(41), got.Health.Checks[0].LatencyMS)
	assert.False(t, got.Health.Passed)
	assert.Equal(t, int64(900000), got.Monitor.WindowMS)
	assert.Equal(t, "v2.6.3", got.Rollback.Target.Tag)
	assert.Equal(t, []string{"vercel rollback dpl_0"}, got.Deployment.RollbackSteps)
	assert.Nil(t, got.PreviousProduction)
	assert.NotContains(t, buf.String(), "123456789", "no nanoseconds anywhere")
}

// An event carries its duration only when it has one, and a progress
// event its timing only for a timed wait.
func TestEventJSON(t *testing.T) {
	at := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	events := []shipprod.Event{
		{Step: shipprod.StepTag, Kind: shipprod.EventStarted, Title: "Creating git tag v2.7.0", Time: at,
			Actions: []shipprod.Action{{Step: shipprod.StepTag, Kind: shipprod.ActionTag, Target: "refs/tags/v2.7.0", Description: "create tag"}}},
		{Step: shipprod.StepHealth, Kind: shipprod.EventProgress, Title: "Running health checks", Time: at,
			Progress: &shipprod.Progress{Message: "api (http https://x/health): 200 OK in 41ms", Status: shipprod.HealthPass}},
		{Step: shipprod.StepMonitor, Kind: shipprod.EventProgress, Title: "Monitoring production", Time: at,
			Progress: &shipprod.Progress{Message: "errors: 0.1%", Status: shipprod.HealthPass, Elapsed: 72 * time.Second, Remaining: 108 * time.Second}},
		{Step: shipprod.StepTag, Kind: shipprod.EventFailed, Title: "Creating git tag v2.7.0", Time: at, Duration: 55 * time.Millisecond, Err: errors.New("push rejected")},
	}
	var buf bytes.Buffer
	obs := newJSONObserver(&jsonLines{w: &buf})
	for _, e := range events {
		obs.Observe(e)
	}
	lines := decodeContract(t, buf.String())
	require.Len(t, lines, 4)
	started, health, monitor, failed := lines[0].value.(*JSONEvent), lines[1].value.(*JSONEvent), lines[2].value.(*JSONEvent), lines[3].value.(*JSONEvent)
	assert.Nil(t, started.DurationMS)
	assert.Equal(t, "refs/tags/v2.7.0", started.Actions[0].Target)
	assert.Equal(t, "pass", health.Progress.Status)
	assert.Nil(t, health.Progress.ElapsedMS, "a health check is not a timed wait")
	require.NotNil(t, monitor.Progress.ElapsedMS)
	assert.Equal(t, int64(72000), *monitor.Progress.ElapsedMS)
	assert.Equal(t, int64(108000), *monitor.Progress.RemainingMS)
	require.NotNil(t, failed.DurationMS)
	assert.Equal(t, int64(55), *failed.DurationMS)
	assert.Equal(t, "push rejected", failed.Error)
	assert.Equal(t, []JSONAction{}, failed.Actions)
	assert.True(t, slices.ContainsFunc(strings.Split(buf.String(), "\n"), func(l string) bool {
		return strings.Contains(l, `"time":"2026-10-01T12:00:00.000Z"`)
	}))
}

// A failure in --json mode is one error line on stdout as well as the
// message on stderr, whatever the command; a usage error too.
func TestJSONErrorLine(t *testing.T) {
	for _, args := range [][]string{
		{"plan", "--json", "--config", "nope.yaml"},
		{"ship", "--json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := (&App{Stdout: &out, Stderr: &errOut, Getenv: noEnv}).Run(t.Context(), append(args, "--dir", t.TempDir()))
			assert.Equal(t, ExitUsage, code)
			lines := decodeContract(t, out.String())
			require.Len(t, lines, 1)
			e := lines[0].value.(*JSONError)
			assert.Equal(t, ExitUsage, e.ExitCode)
			assert.NotEmpty(t, e.Message)
			assert.Contains(t, errOut.String(), e.Message)
		})
	}
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }
