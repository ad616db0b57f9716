package conventional_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod/version/conventional"
)

// A long message parses in linear time: a footer followed by 200,000
// continuation lines must not take quadratic work.
func TestLongFooterIsLinear(t *testing.T) {
	msg := "feat: x\n\nRefs: 1\n" + strings.Repeat("continued\n", 200_000)
	start := time.Now()
	c, err := conventional.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Parse of a %d-byte message took %v", len(msg), took)
	}
	if len(c.Footers) != 1 || strings.Count(c.Footers[0].Value, "\n") != 200_000 {
		t.Fatalf("footers = %d, value lines = %d", len(c.Footers), strings.Count(c.Footers[0].Value, "\n")+1)
	}
}
