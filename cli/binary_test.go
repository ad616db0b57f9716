package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A team's own binary — cli.Main plus a deployer of its own, built from
// shipprod's public packages only — ships the demo project.
func TestTeamBinaryWithItsOwnDeployerShips(t *testing.T) {
	endToEnd(t)
	bin := filepath.Join(t.TempDir(), "acmeship")
	build := exec.Command("go", "build", "-o", bin, "github.com/shipprod/shipprod/examples/acmeship")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	p := newProject(t)
	p.edit("shipprod.yaml", func(s string) string {
		return strings.Replace(s, "  provider: git-push\n  git-push:\n    remote: origin\n    branch: production\n",
			"  provider: acme-push\n  acme-push:\n    branch: production\n", 1)
	})
	cmd := exec.Command(bin, "ship", "--yes", "--dir", p.work)
	cmd.Env = os.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "✅ Shipped v1.3.0 to production with acme-push")
	served, err := p.prod.servedVersion()
	require.NoError(t, err)
	assert.Equal(t, "1.3.0", served, "production serves the release the team's deployer pushed")

	version, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	assert.Equal(t, "acmeship version acme-1.0\n", string(version))
}

// Nothing under examples/ reaches into shipprod's internal packages: what
// the examples do, any importer can.
func TestExamplesUseOnlyPublicPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`,
		"github.com/shipprod/shipprod/examples/...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			assert.False(t, strings.HasPrefix(imp, "github.com/shipprod/shipprod/") && strings.Contains(imp, "/internal"),
				"%s imports %s", pkg, imp)
		}
	}
}
