package vercel_test

import (
	"os"
	"testing"

	"github.com/shipprod/shipprod/internal/gittest"
)

// TestMain isolates git and keeps the tests' files in memory when it can
// (gittest.Main).
func TestMain(m *testing.M) { os.Exit(gittest.Main(m)) }
