package version

import (
	"testing"

	"github.com/shipprod/shipprod/version/conventional"
)

// FuzzParseMessage checks that the fast path the analysis takes agrees with
// conventional.Parse on everything a version decision reads.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"feat: a\n", "fix(x)!: b\n\nbody\n", "fix: a\n\nBREAKING CHANGE: b\n", "chore: c\n\nrelease-AS: 2.0.0\n",
		"revert: x\n\nRefs: abcdef1\n", "feat: a\nb\n", "\nfeat: a\n", "Revert \"feat: a\"\n\nThis reverts commit abcdef1.\n",
		"docs: x\r\n\r\nbody\r\n", "feat: a\n \t\nbody\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		want, wantErr := conventional.Parse(string(msg))
		got, gotErr := parseMessage(msg)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%q: Parse error %v, fast path error %v", msg, wantErr, gotErr)
		}
		if wantErr != nil {
			return
		}
		wantRA, wantOK := want.Footer("Release-As")
		gotRA, gotOK := got.Footer("Release-As")
		if got.Type != want.Type || got.Scope != want.Scope || got.Description != want.Description || got.Bang != want.Bang ||
			got.Breaking() != want.Breaking() || got.BreakingNote() != want.BreakingNote() || gotRA != wantRA || gotOK != wantOK {
			t.Fatalf("%q:\nfast path %+v\nParse     %+v", msg, got, want)
		}
		_, wantRev := conventional.ParseRevert(string(msg), &want)
		_, gotRev := conventional.ParseRevert(string(msg), &got)
		if wantRev != gotRev {
			t.Fatalf("%q: revert %v vs %v", msg, gotRev, wantRev)
		}
	})
}
