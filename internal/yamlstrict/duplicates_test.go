package yamlstrict_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod/internal/yamlstrict"
)

func TestDuplicateKeys(t *testing.T) {
	tests := []struct {
		name, doc string
		path      string
		first     int
		second    int
	}{
		{name: "top level", doc: "state: a.yaml\ntimeout: 15s\nstate: b.yaml\n", path: "state", first: 1, second: 3},
		{name: "nested", doc: "deploy:\n  provider: git-push\n  provider: vercel\n", path: "deploy.provider", first: 2, second: 3},
		{name: "in a list item", doc: "checks:\n  - name: api\n    http: /a\n    http: /b\n", path: "checks[0].http", first: 3, second: 4},
		{name: "flow mapping", doc: "labels:\n  a: {name: x, name: y}\n", path: "labels.a.name", first: 2, second: 2},
		// A yaml.Node field is not decoded by the struct decoder, so yaml.v3
		// alone lets this one through: the deployer would decode it later.
		{name: "inside a deployer section", doc: "deploy:\n  provider: git-push\n  git-push:\n    branch: production\n    branch: main\n", path: "deploy.git-push.branch", first: 4, second: 5},
		{name: "quoted and plain spelling", doc: "state: a\n\"state\": b\n", path: "state", first: 1, second: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			err := yamlstrict.Unmarshal("cfg.yaml", []byte(tt.doc), &c)
			var dup *yamlstrict.DuplicateKeyError
			require.ErrorAs(t, err, &dup)
			assert.Equal(t, tt.path, dup.Path)
			assert.Equal(t, tt.first, dup.FirstLine)
			assert.Equal(t, tt.second, dup.Line)
			assert.Contains(t, err.Error(), "cfg.yaml:")
			assert.Contains(t, err.Error(), `duplicate key "`+tt.path+`"`)
			assert.Regexp(t, `lines \d+ and \d+`, err.Error())
		})
	}
}

func TestDuplicateKeysNotConfusedWithMergesAndAliases(t *testing.T) {
	doc := `
defaults: &d
  name: api
  http: /health
checks:
  - <<: *d
    http: /ready
  - *d
`
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(doc), &n))
	assert.NoError(t, yamlstrict.CheckDuplicates("cfg.yaml", &n), "a key that overrides a merged one is not a duplicate")

	var c struct {
		Defaults check   `yaml:"defaults"`
		Checks   []check `yaml:"checks"`
	}
	require.NoError(t, yamlstrict.Unmarshal("cfg.yaml", []byte(doc), &c))
	assert.Equal(t, "/ready", c.Checks[0].HTTP)
	assert.Equal(t, "api", c.Checks[0].Name)
	assert.Equal(t, "/health", c.Checks[1].HTTP)
}

func TestMergedKeysAreCheckedToo(t *testing.T) {
	doc := "x-defaults: &d\n  nme: api\nchecks:\n  - <<: *d\n    http: /ready\n"
	var c struct {
		Defaults map[string]string `yaml:"x-defaults"`
		Checks   []check           `yaml:"checks"`
	}
	err := yamlstrict.Unmarshal("cfg.yaml", []byte(doc), &c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `cfg.yaml:2: unknown key "checks[0].nme"`, "the merged key is named at the line it is written")
}
