package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A forced minor with a breaking change since the last release is refused
// by ship (before anything changes) and explained by version.
func TestForcedBumpNeverHidesABreakingChange(t *testing.T) {
	p := newProject(t)
	p.edit("shipprod.yaml", func(s string) string {
		return strings.Replace(s, "version:\n", "version:\n  bump: patch\n", 1)
	})
	p.git(p.local, "commit", "--quiet", "--allow-empty", "-m", "feat!: drop the v1 API")
	before := p.snapshot()

	code, out, errOut := p.run("version")
	assert.Equal(t, ExitUsage, code, out+errOut)
	assert.Contains(t, out, "next     refused: version.bump: patch gives 1.2.1, below 2.0.0 (major)")
	assert.Contains(t, out, "feat!: drop the v1 API")

	code, out, errOut = p.run("ship", "--yes")
	assert.Equal(t, ExitUsage, code, out+errOut)
	assert.Contains(t, errOut, "version.bump: patch gives 1.2.1, below 2.0.0 (major)")
	assert.Contains(t, errOut, "or version.allow_lower_bump: true to release 1.2.1 anyway")
	assert.Equal(t, before, p.snapshot(), "nothing changed")
}
