package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A release nothing verifies exits 5, which CI tells from 0; asked for,
// --accept-unverified exits 0 and still says "not verified".
func TestNotVerifiedExitsFiveUnlessAccepted(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	p.edit("shipprod.yaml", func(s string) string {
		s = regexp.MustCompile(`(?s)\nhealth:.*?\nmonitor:`).ReplaceAllString(s, "\nmonitor:")
		return regexp.MustCompile(`(?s)\nmonitor:.*?\n(report|journal|on_failure|$)`).ReplaceAllString(s, "\n$1")
	})
	code, out, errOut := p.run("ship", "--yes")
	assert.Equal(t, ExitNotVerified, code, out+errOut)
	assert.Contains(t, out, "not verified")
	assert.Contains(t, out, "no health checks and no monitor are configured")

	p.git(p.local, "commit", "--quiet", "--allow-empty", "-m", "fix: a typo")
	code, out, errOut = p.run("ship", "--yes", "--accept-unverified")
	assert.Equal(t, ExitOK, code, out+errOut)
	assert.True(t, strings.Contains(out, "not verified"), out)
}
