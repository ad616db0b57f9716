package yamlstrict_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod/internal/yamlstrict"
)

type check struct {
	Name         string `yaml:"name"`
	HTTP         string `yaml:"http"`
	ExpectStatus int    `yaml:"expect_status"`
}

type common struct {
	Remote string `yaml:"remote"`
}

type config struct {
	common  `yaml:",inline"`
	State   string        `yaml:"state"`
	Timeout time.Duration `yaml:"timeout"`
	Checks  []check       `yaml:"checks"`
	Deploy  struct {
		Provider string               `yaml:"provider"`
		Rest     map[string]yaml.Node `yaml:",inline"`
	} `yaml:"deploy"`
	Labels map[string]check `yaml:"labels"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name, doc, err string
	}{
		{name: "ok", doc: "state: s.yaml\nremote: origin\ntimeout: 15s\nchecks:\n  - name: api\n    http: /health\ndeploy:\n  provider: git-push\n  git-push: {branch: production}\n"},
		{name: "top level", doc: "state: x\nstaet: y\n", err: `cfg.yaml:2: unknown key "staet" (known keys here: checks, deploy, labels, remote, state, timeout)`},
		{name: "in a list", doc: "checks:\n  - name: api\n    expect_stauts: 200\n", err: `cfg.yaml:3: unknown key "checks[0].expect_stauts"`},
		{name: "in a map value", doc: "labels:\n  a:\n    nme: x\n", err: `cfg.yaml:3: unknown key "labels.a.nme"`},
		{name: "type error", doc: "state: x\ntimeout: soon\n", err: "cfg.yaml: wrong type: line 2: timeout: cannot unmarshal !!str `soon` into time.Duration"},
		{name: "type error in a list", doc: "checks:\n  - name: api\n    expect_status: twohundred\n", err: "line 3: checks[0].expect_status: cannot unmarshal !!str `twohundred` into int"},
		{name: "two documents", doc: "state: x\n---\nstate: y\n", err: "cfg.yaml:2: a second YAML document (after ---)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			err := yamlstrict.Unmarshal("cfg.yaml", []byte(tt.doc), &c)
			if tt.err == "" {
				require.NoError(t, err)
				assert.Equal(t, 15*time.Second, c.Timeout)
				assert.Equal(t, "origin", c.Remote)
				assert.Contains(t, c.Deploy.Rest, "git-push", "an inline map takes the other keys")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}

func TestEmptyDocument(t *testing.T) {
	c := config{State: "kept"}
	require.NoError(t, yamlstrict.Unmarshal("cfg.yaml", nil, &c))
	assert.Equal(t, "kept", c.State)
}
