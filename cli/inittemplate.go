package cli

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod/provider/githubactions"
	"github.com/shipprod/shipprod/provider/vercel"
)

// config renders the commented shipprod.yaml for what was detected.
func (d detection) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# yaml-language-server: $schema=%s\n", SchemaURL)
	b.WriteString(`#
# shipprod configuration, written by shipprod init from what it found in this
# project. Every key, its default and an example: ` + ConfigDocURL + `
# Check it with "shipprod check" (it changes nothing), then "shipprod ship".
`)
	d.writeVersion(&b)
	d.writeGit(&b)
	d.writeGates(&b)
	d.writeDeploy(&b)
	writeHealthExample(&b)
	return b.String()
}

// q quotes s as a YAML scalar when it needs quoting.
func q(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func (d detection) writeVersion(b *strings.Builder) {
	b.WriteString("\n# The next version is decided from the Conventional Commits since the last\n" +
		"# release tag and the CHANGELOG's Unreleased section; the bump commit writes it\n# into these files.\n")
	b.WriteString("version:\n")
	if len(d.VersionFiles) == 0 {
		b.WriteString("  files: []            # no version file found: the version lives in the tags only\n")
	} else {
		quoted := make([]string, len(d.VersionFiles))
		for i, f := range d.VersionFiles {
			quoted[i] = q(f)
		}
		fmt.Fprintf(b, "  files: [%s]\n", strings.Join(quoted, ", "))
	}
	if d.Changelog != "" {
		fmt.Fprintf(b, "  changelog: %s   # its Unreleased section becomes the release notes\n", q(d.Changelog))
	} else {
		b.WriteString("  changelog: \"-\"        # no CHANGELOG.md found; name one (Keep a Changelog) to get release notes\n")
	}
}

func (d detection) writeGit(b *strings.Builder) {
	b.WriteString("\n# Where the release commit and tag are pushed.\ngit:\n")
	if d.Remote != "" {
		fmt.Fprintf(b, "  remote: %s\n", q(d.Remote))
	} else {
		b.WriteString("  # remote: origin      # no git remote found: add one before shipping\n")
	}
	if d.Branch != "" {
		fmt.Fprintf(b, "  branch: %s   # releases are made from this branch only\n", q(d.Branch))
	}
	if d.GitHub != "" {
		fmt.Fprintf(b, "\n# The release is published as a GitHub Release (GITHUB_TOKEN or GH_TOKEN).\ngithub:\n  repository: %s\n", q(d.GitHub))
	}
}

func (d detection) writeGates(b *strings.Builder) {
	if d.StateFile != "" {
		fmt.Fprintf(b, "\n# Release gates: the Spec-Flow state file of the feature being shipped must\n"+
			"# say staging was validated. shipprod uses the highest-numbered one; it found\n# %s. Name another with:\n# state: %s\n", d.StateFile, d.StateFile)
		return
	}
	b.WriteString("\n# No Spec-Flow state file (specs/NNN-*/state.yaml) was found, so the release\n" +
		"# gates are skipped; remove this once the project uses Spec-Flow.\ngates:\n  skip: true\n")
}

func (d detection) writeDeploy(b *strings.Builder) {
	b.WriteString("\n# How the release reaches production.\ndeploy:\n")
	switch d.Deployer {
	case vercel.Name:
		fmt.Fprintf(b, "  provider: vercel     # promotes the build staging validated (VERCEL_TOKEN)\n  vercel:\n    project: %s\n", q(d.Vercel.Project))
		if d.Vercel.Org != "" {
			fmt.Fprintf(b, "    team: %s\n", q(d.Vercel.Org))
		}
		b.WriteString("    # url: https://www.example.com   # the production URL, for the report and the health checks\n")
	case githubactions.Name:
		fmt.Fprintf(b, "  provider: github-actions   # dispatches the workflow and follows its run\n  github-actions:\n    workflow: %s\n", q(d.Workflow))
		b.WriteString("    # inputs: {version: \"{{.Version}}\"}       # the workflow_dispatch inputs\n" +
			"    # environment_url: https://www.example.com  # the production URL the run deploys to\n")
	default:
		b.WriteString("  provider: git-push     # pushes the release commit to the production branch\n  git-push:\n")
		fmt.Fprintf(b, "    remote: %s\n    branch: production   # the branch production deploys from\n", q(orNone(d.Remote, "origin")))
		b.WriteString("    # url: https://www.example.com   # the production URL, for the report\n")
	}
}

// writeHealthExample writes the health checks, commented: what production
// must answer is for the project to say.
func writeHealthExample(b *strings.Builder) {
	b.WriteString(`
# Health checks run right after the deploy; without them (or a monitor) a
# release is live but "not verified" (exit code 5). For example:
# health:
#   base_url: https://www.example.com   # default: the URL the deployer reports
#   checks:
#     - name: home
#       http: /
#       expect_status: 200
#     - name: live-version
#       version: /api/version           # must report the version just shipped
#
# A monitor then watches production for a while and rolls back on its own
# when it degrades:
# monitor:
#   window: 15m
#   gates:
#     - name: smoke
#       health: {checks: [home, live-version]}
`)
}
