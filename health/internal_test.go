package health

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpr(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"database":"connected","replicas":3,"ready":true,"off":false,"none":null,
		"checks":{"db:ping":[{"status":"pass"}]},"a]b":1,"list":[10,20]}`))
	require.NoError(t, err)
	tests := []struct {
		expr string
		err  string // "" means it holds
	}{
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
		{`.["a]b"] == 1`, ""},
		{`.list[1] >= 20`, ""},
		{`.database >= 2`, `.database is "connected", not a number (want >= 2)`},
		{`. != null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := ParseExpr(tt.expr)
			require.NoError(t, err)
			err = e.Eval(doc)
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.err)
			}
		})
	}
	for _, bad := range []string{`database == "x"`, `.a = 1`, `.a ==`, `.a == connected`, `.a > "x"`, `.a == {"b":1}`, `.a[x]`, `.a[`, `..a`} {
		_, err := ParseExpr(bad)
		assert.Error(t, err, bad)
	}
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
