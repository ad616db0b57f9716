package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With records.commit, the report and the state file are committed in a
// commit of their own on top of the release (never amending the tagged
// commit) and pushed; the working tree is left clean.
func TestRecordsAreCommittedAndPushed(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	p.edit("shipprod.yaml", func(s string) string { return s + "records:\n  commit: true\n" })
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, out+errOut)

	subjects := strings.Split(p.git(p.remote, "log", "--format=%s", "-2", "refs/heads/main"), "\n")
	require.Len(t, subjects, 2)
	assert.Equal(t, "chore(release): record the ship of v1.3.0 (shipped) [skip ci]", subjects[0])
	assert.Equal(t, "chore(release): v1.3.0", subjects[1], "the release commit is not amended")
	assert.Equal(t, p.git(p.remote, "rev-parse", "refs/heads/main~1"), p.git(p.remote, "rev-parse", "refs/tags/v1.3.0^{commit}"))
	files := p.git(p.remote, "show", "--name-only", "--format=", "refs/heads/main")
	assert.Contains(t, files, "specs/"+demoFeature+"/production-ship-report.md")
	assert.Contains(t, files, "specs/"+demoFeature+"/state.yaml")
	assert.Empty(t, p.git(p.local, "status", "--porcelain"), "nothing is left in the working tree")

	// The next release goes on from there.
	p.git(p.local, "commit", "--quiet", "--allow-empty", "-m", "fix: a typo")
	code, out, errOut = p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, out+errOut)
	assert.Contains(t, p.git(p.remote, "log", "--format=%s", "-3", "refs/heads/main"), "chore(release): record the ship of v1.3.1 (shipped) [skip ci]")
}
