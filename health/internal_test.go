package health

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpr(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"database":"connected","replicas":3,"ready":true,"off":false,"none":null,
		"checks":{"db:ping":[{"status":"pass"}]},"a]b":1,"list":[10,20],
		"services":[{"name":"api","status":"up"},{"name":"db","status":"up"},{"name":"queue","status":"down"}]}`))
	require.NoError(t, err)
	tests := []struct {
		expr string
		err  string // "" means it holds
	}{
		// The forms of the former hand-written subset keep their meaning
		// and their messages.
		{`.database == "connected"`, ""},
		{`.database=="connected"`, ""},
		{`.database != "connected"`, `.database is "connected" (want != "connected")`},
		{`.database == "down"`, `.database is "connected" (want == "down")`},
		{`.replicas >= 3`, ""},
		{`.replicas > 3`, `.replicas is 3 (want > 3)`},
		{`.replicas < 3.5`, ""},
		{`.replicas == 3`, ""},
		{`.ready`, ""},
		{`.ready == true`, ""},
		{`.off`, `.off is false (want present and neither null nor false)`},
		{`.none`, `.none is null (want present and neither null nor false)`},
		{`.none == null`, ""},
		{`.missing`, `.missing is absent (want present)`},
		{`.checks["db:ping"][0].status == "pass"`, ""},
		{`.checks["db:ping"][1].status == "pass"`, `.checks["db:ping"][1].status is absent (want == "pass")`},
		{`.list[5] == 1`, `.list[5] is absent (want == 1)`},
		{`.["a]b"] == 1`, ""},
		{`.list[1] >= 20`, ""},
		{`. != null`, ""},
		// jq orders every string after every number; numbers keeps only
		// numbers, and an expression that yields nothing fails.
		{`.database >= 2`, ""},
		{`.database | numbers >= 2`, `.database | numbers >= 2 yields no value (want one that is neither null nor false)`},
		// What the subset could not say.
		{`.services | map(.status == "up") | all`, `.services | map(.status == "up") | all yields false (want neither null nor false)`},
		{`.services | map(.status == "up") | any`, ""},
		{`[.services[] | select(.status != "up")] | length == 0`, `[.services[] | select(.status != "up")] | length is 1 (want == 0)`},
		{`[.services[] | select(.status != "up") | .name] == []`, `[.services[] | select(.status != "up") | .name] is ["queue"] (want == [])`},
		{`.services | length >= 3`, ""},
		{`.list | add == 30`, ""},
		{`.checks | has("db:ping")`, ""},
		{`.checks | has("cache")`, `.checks | has("cache") yields false (want neither null nor false)`},
		{`.database | test("^conn")`, ""},
		{`.services[] | .status == "up"`, `.services[] | .status == "up" yields false`},
		{`.services[].name | length > 1`, ""},
		{`.database | startswith("dis")`, `.database | startswith("dis") yields false (want neither null nor false)`},
		{`.list[-1] == 20`, ""},
		{`.a == {"b":1}`, `.a is absent (want == { "b": 1 })`},
		{`.list as $l | $l | length == 3`, `.list as $l | $l | length is 2 (want == 3)`},
		{`.replicas as $n | $n > 5`, `.replicas as $n | $n is 3 (want > 5)`},
		{`empty`, `empty yields no value (want one that is neither null nor false)`},
		// A jq error fails the expectation and says why.
		{`.database.name`, `.database.name: expected an object but got: string ("connected")`},
		{`.replicas | ascii_downcase`, `.replicas | ascii_downcase: ascii_downcase cannot be applied to: number (3)`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := ParseExpr(tt.expr)
			require.NoError(t, err)
			err = e.Eval(context.Background(), doc)
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.err)
			}
		})
	}
}

func TestExprRejectsMistakesAtParseTime(t *testing.T) {
	for bad, want := range map[string]string{
		`database == "x"`:  `expression "database == \"x\"": function not defined: database/0`,
		`.a = 1`:           `expression ".a = 1": = assigns in jq and its result always holds; compare with ==`,
		`.a | .b |= 1`:     `expression ".a | .b |= 1": |= assigns in jq`,
		`.a ==`:            `expression ".a ==": unexpected EOF`,
		`.a == connected`:  `function not defined: connected/0`,
		`.a[x]`:            `function not defined: x/0`,
		`.a[`:              `expression ".a[": unexpected EOF`,
		`..a`:              `expression "..a": unexpected token "a"`,
		`$ENV.TOKEN | not`: ``, // parses: $ENV is defined, and empty (see TestExprCannotReadTheEnvironment)
		`input == 1`:       `input(s)/0 is not allowed`,
		`debug`:            `function not defined: debug/0`,
	} {
		_, err := ParseExpr(bad)
		if want == "" {
			assert.NoError(t, err, bad)
			continue
		}
		if assert.Error(t, err, bad) {
			assert.Contains(t, err.Error(), want, bad)
		}
	}
}

// The process's environment holds the tokens shipprod uses; a jq
// expectation must not be able to copy one into a report.
func TestExprCannotReadTheEnvironment(t *testing.T) {
	t.Setenv("SHIPPROD_JQ_TEST_SECRET", "s3cret-from-env")
	for _, src := range []string{`$ENV.SHIPPROD_JQ_TEST_SECRET == null`, `env.SHIPPROD_JQ_TEST_SECRET == null`, `$ENV | length == 0`} {
		e, err := ParseExpr(src)
		require.NoError(t, err)
		assert.NoError(t, e.Eval(context.Background(), map[string]any{}), src)
	}
}

// An expression that never ends is stopped by the context: a check's
// attempt timeout bounds it.
func TestExprStopsWhenTheContextEnds(t *testing.T) {
	e, err := ParseExpr(`last(range(1e15)) > 0`)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = e.Eval(ctx, map[string]any{})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "last(range(1e15)) > 0: ")
}

func TestMasker(t *testing.T) {
	m := newMasker("postgres://app:pa%20ss@db:5432/x", "redis://:r@w@cache:6379", "host=db user=app password='p w d' dbname=x", "host=db password=kv-secret", "")
	for in, want := range map[string]string{
		"dial postgres://app:pa%20ss@db:5432/x failed": "dial *** failed",
		"auth r@w failed":        "auth *** failed",
		"password is pa ss":      "password is ***",
		"escaped pa+ss":          "escaped ***",
		"kv p w d and kv-secret": "kv *** and ***",
		"nothing secret":         "nothing secret",
	} {
		assert.Equal(t, want, m.mask(in), in)
	}
	var none *masker
	assert.Equal(t, "x", none.mask("x"))
	assert.Equal(t, "https://u:***@example.com/p", redactURL("https://u:secret@example.com/p"))
	assert.Equal(t, "https://example.com/p", redactURL("https://example.com/p"))
}

func TestResolveURL(t *testing.T) {
	for _, tt := range []struct{ raw, base, want string }{
		{"/health", "https://x.io", "https://x.io/health"},
		{"health", "https://x.io/", "https://x.io/health"},
		{"/health", "https://x.io/app/", "https://x.io/app/health"},
		{"?full=1", "https://x.io/ready", "https://x.io/ready?full=1"},
		{"", "https://x.io/ready", "https://x.io/ready"},
		{"https://other.io/a", "https://x.io", "https://other.io/a"},
	} {
		got, err := resolveURL(tt.raw, tt.base)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%q + %q", tt.base, tt.raw)
	}
	_, err := resolveURL("/x", "not a url")
	assert.Error(t, err)
}
