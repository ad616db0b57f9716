package releasetag

import "testing"

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		tag, want string
		ok        bool
	}{
		{"v1.4.0", "1.4.0", true},
		{"1.4.0", "1.4.0", true},
		{"web-v1.4.0", "1.4.0", true},
		{"v2.0.0-rc.1", "2.0.0-rc.1", true},
		{"app2-v1.0.0", "1.0.0", true},
		{"latest", "", false},
		{"deploy-2", "", false},
		{"v1.4", "", false},
	} {
		got, ok := Version(tc.tag)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Version(%q) = %q, %v; want %q, %v", tc.tag, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPick(t *testing.T) {
	tag, v := Pick([]string{"deployed", "v1.4.0-rc.2", "v1.4.0", "stable"})
	if tag != "v1.4.0" || v != "1.4.0" {
		t.Fatalf("Pick = %q %q", tag, v)
	}
	if tag, v := Pick([]string{"latest"}); tag != "" || v != "" {
		t.Fatalf("Pick of no release tag = %q %q", tag, v)
	}
}
