package changelog_test

import (
	"testing"

	"github.com/shipprod/shipprod/version/changelog"
)

// FuzzParse checks that Parse never panics and that Release, whenever it
// succeeds, writes a file that parses again with the new version right
// below an Unreleased section that has no entries left, every earlier
// release kept, and notes equal to what UnreleasedText promised. The seed
// corpus is in testdata/fuzz/FuzzParse; run
// `go test -fuzz=FuzzParse ./version/changelog`.
func FuzzParse(f *testing.F) {
	f.Add([]byte(keepAChangelog))
	f.Add([]byte("## [Unreleased]\n\n## [1.0.0] - 2024-01-01\n"))
	f.Add([]byte("## Unreleased\n<!-- hint -->\n### Added\n\n### Fixed\n- a\n```\n## [3.0.0]\n```\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := changelog.Parse(data)
		if err != nil {
			return
		}
		if c.Unreleased == nil {
			if _, _, err := c.Release(changelog.ReleaseOptions{Version: "99.99.99"}); err == nil {
				t.Fatal("Release succeeded without an Unreleased section")
			}
			return
		}
		promised := c.UnreleasedText()
		out, notes, err := c.Release(changelog.ReleaseOptions{Version: "99.99.99", Date: "2030-01-02", Tag: "v99.99.99"})
		if err != nil {
			if c.Find("99.99.99") == nil {
				t.Fatalf("Release failed: %v", err)
			}
			return
		}
		if notes != promised {
			t.Fatalf("notes %q differ from UnreleasedText %q", notes, promised)
		}
		again, err := changelog.Parse(out)
		if err != nil {
			t.Fatalf("released file does not parse: %v\n%q", err, out)
		}
		if again.Unreleased == nil {
			t.Fatalf("released file lost its Unreleased section:\n%q", out)
		}
		if n := len(again.Unreleased.AllEntries()); n != 0 {
			t.Fatalf("Unreleased keeps %d entries after the release:\n%q", n, out)
		}
		if len(again.Releases) != len(c.Releases)+1 {
			t.Fatalf("releases %d → %d:\n%q", len(c.Releases), len(again.Releases), out)
		}
		// The new section comes right after the sections above Unreleased.
		k := 0
		for k < len(c.Releases) && c.Releases[k].Line < c.Unreleased.Line {
			k++
		}
		if s := again.Releases[k]; s.Version != "99.99.99" || s.Date != "2030-01-02" || s.Line <= again.Unreleased.Line {
			t.Fatalf("release section %d = %+v, want 99.99.99 below Unreleased:\n%q", k, s, out)
		}
		for i, r := range c.Releases {
			j := i
			if i >= k {
				j++
			}
			if again.Releases[j].Heading != r.Heading {
				t.Fatalf("release %d heading %q became %q", i, r.Heading, again.Releases[j].Heading)
			}
		}
	})
}
