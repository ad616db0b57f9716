package confdoc

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod/cli"
	"github.com/shipprod/shipprod/internal/yamlstrict"
	"github.com/shipprod/shipprod/provider"
)

// root is the module's root: the tests run in cli/internal/confdoc.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", ".."))
	require.NoError(t, err)
	return dir
}

func generated(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := Generate(root(t))
	require.NoError(t, err)
	return files
}

// The checked-in schema and reference are what the types say now.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	for name, want := range generated(t) {
		got, err := os.ReadFile(filepath.Join(root(t), name))
		require.NoError(t, err, "%s is not checked in: run go generate ./cli", name)
		assert.True(t, bytes.Equal(want, got), "%s is stale: run go generate ./cli (or go run ./cli/internal/gen)", name)
	}
}

// The command the failure message names works, and finds nothing stale.
func TestTheGenerateCommandWorks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cli/internal/gen; skipped with -short")
	}
	cmd := exec.Command("go", "run", "./cli/internal/gen", "-check")
	cmd.Dir = root(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// yamlKeys lists the dotted paths of every key the strict decoder accepts
// in t, found on its own (as internal/yamlstrict walks the types), so that
// the generator cannot leave one out unnoticed.
func yamlKeys(prefix string, t reflect.Type, out *[]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		if t.Kind() == reflect.Slice {
			prefix += "[]"
		}
		if t.Kind() == reflect.Map {
			return // values of a map of strings
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() == "time" {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			yamlKeys(prefix, f.Type, out)
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		*out = append(*out, path)
		yamlKeys(path, f.Type, out)
	}
}

func allKeys() []string {
	var keys []string
	yamlKeys("", reflect.TypeFor[cli.Config](), &keys)
	for name, typ := range Deployers {
		keys = append(keys, "deploy."+name)
		yamlKeys("deploy."+name, typ, &keys)
	}
	return keys
}

// Every key of every section is in the reference, with a description, a
// type, a default and an example.
func TestEveryKeyIsDocumented(t *testing.T) {
	md := string(generated(t)[filepath.FromSlash(DocFile)])
	keys := allKeys()
	require.Greater(t, len(keys), 200)
	for _, key := range keys {
		if !strings.Contains(key, ".") || regexp.MustCompile(`^deploy\.[^.]+$`).MatchString(key) && key != "deploy.provider" && key != "deploy.follow_ci" {
			// A section: a heading of its own.
			assert.Regexp(t, regexp.MustCompile(`(?m)^#+ `+regexp.QuoteMeta(key)+`$`), md, "%s has no section in %s", key, DocFile)
			continue
		}
		row := regexp.MustCompile(`(?m)^\| ` + "`" + regexp.QuoteMeta(key) + "`" + ` \| ([^|]+) \| (.+?) \| (.+?) \| (.+) \|$`)
		m := row.FindStringSubmatch(md)
		if !assert.NotNil(t, m, "%s has no row in %s", key, DocFile) {
			continue
		}
		assert.NotEmpty(t, strings.TrimSpace(m[1]), "%s: type", key)
		assert.NotEmpty(t, strings.TrimSpace(m[4]), "%s: description", key)
	}
}

// The built-in deployers the generator describes are the deployers the
// reference CLI registers.
func TestDeployersAreTheRegisteredOnes(t *testing.T) {
	var names []string
	for n := range Deployers {
		names = append(names, n)
	}
	slices.Sort(names)
	assert.Equal(t, provider.Names(), names)
}

// compile compiles the generated schema.
func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw := generated(t)[filepath.FromSlash(SchemaFile)]
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource(cli.SchemaURL, doc))
	s, err := c.Compile(cli.SchemaURL)
	require.NoError(t, err)
	return s
}

// validate validates a YAML document against the schema, as an editor
// does.
func validate(t *testing.T, s *jsonschema.Schema, text string) error {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal([]byte(text), &v))
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	return s.Validate(inst)
}

// loads reports whether the CLI reads text as a configuration, as strictly
// as it does: the file, then each deployer's section into its type.
func loads(t *testing.T, text string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shipprod.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	cfg, err := cli.LoadConfig(path)
	if err != nil {
		return err
	}
	for name, node := range cfg.Deploy.Sections {
		v := reflect.New(Deployers[name]).Interface()
		if err := yamlstrict.Decode(path, "deploy."+name, &node, v); err != nil {
			return err
		}
	}
	return nil
}

// The reference example sets every key; the CLI reads it and the schema
// accepts it.
func TestTheExampleIsValid(t *testing.T) {
	require.NoError(t, loads(t, string(Example)))
	require.NoError(t, validate(t, compile(t), string(Example)))
}

// The schema and the CLI agree on what a configuration may say.
func TestTheSchemaAgreesWithTheCLI(t *testing.T) {
	s := compile(t)
	valid := map[string]string{
		"the smallest":            "deploy: {provider: none}\n",
		"a state path":            "state: specs/001-a/state.yaml\ndeploy: {provider: none}\n",
		"versions as strings":     "version:\n  files: [package.json, {path: app.toml, pattern: '^v = \"(?P<version>.*)\"'}]\n  bump: 2.0.0-rc.1\ndeploy: {provider: none}\n",
		"a prerelease as a bool":  "github:\n  release: {prerelease: true}\ndeploy: {provider: none}\n",
		"git push with a monitor": "deploy:\n  provider: git-push\n  git-push: {branch: live}\nmonitor:\n  window: 1h30m\n  gates: [{name: up, health: {checks: [home]}}]\n",
	}
	for name, text := range valid {
		t.Run(name, func(t *testing.T) {
			assert.NoError(t, loads(t, text), "the CLI reads it")
			assert.NoError(t, validate(t, s, text), "the schema accepts it")
		})
	}
	invalid := map[string]string{
		"an unknown key":            "deploy: {provider: none}\nversoin: {bump: auto}\n",
		"an unknown key in a check": "deploy: {provider: none}\nhealth:\n  checks: [{name: a, http: /, expect_stauts: 200}]\n",
		"an unknown deployer":       "deploy: {provider: none, gitpush: {branch: x}}\n",
		"a deployer's unknown key":  "deploy:\n  provider: git-push\n  git-push: {brnach: x}\n",
		"a duration in words":       "deploy: {provider: none}\nhealth: {timeout: two seconds}\n",
		"a duration without unit":   "deploy: {provider: none}\nmonitor: {window: 900}\n",
		"a number for a boolean":    "deploy: {provider: none}\ngates: {skip: 1}\n",
		"a string for a number":     "deploy: {provider: none}\nhealth: {concurrency: many}\n",
		"a map for a list":          "deploy: {provider: none}\nversion: {bump_from: {commits: true}}\n",
	}
	for name, text := range invalid {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, loads(t, text), "the CLI refuses it")
			assert.Error(t, validate(t, s, text), "the schema refuses it")
		})
	}
	// Values the CLI refuses when it builds the pipeline, and the schema at
	// once.
	for name, text := range map[string]string{
		"a policy":        "deploy: {provider: none}\non_failure: {policy: explode}\n",
		"a bump":          "deploy: {provider: none}\nversion: {bump: huge}\n",
		"a deployer name": "deploy: {provider: heroku}\n",
		"a trigger":       "deploy:\n  provider: github-actions\n  github-actions: {workflow: d.yml, trigger: cron}\n",
		"an outcome":      "deploy: {provider: none}\nnotify:\n  targets: [{type: slack, url_env: X, on: [exploded]}]\n",
	} {
		t.Run("enum: "+name, func(t *testing.T) {
			assert.Error(t, validate(t, s, text))
		})
	}
}

// The configuration shown in the README, and the one init writes, are
// valid for editors too.
func TestTheSchemaAcceptsTheREADMEConfiguration(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root(t), "README.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "### shipprod.yaml")
	require.True(t, ok)
	_, block, ok := strings.Cut(rest, "```yaml\n")
	require.True(t, ok)
	block, _, _ = strings.Cut(block, "```")
	assert.NoError(t, validate(t, compile(t), block))
}
