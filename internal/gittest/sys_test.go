package gittest

import (
	"os"
	"strings"
	"testing"
)

func TestTheTestsFilesGoToMemoryUnlessTMPDIRIsSet(t *testing.T) {
	t.Setenv("TMPDIR", "/var/tmp")
	if root := useMemoryTempDir(); root != "" || os.Getenv("TMPDIR") != "/var/tmp" {
		t.Fatalf("TMPDIR set by the user was replaced by %q", root)
	}
	t.Setenv("TMPDIR", "")
	if memoryDir(1<<30) == "" {
		t.Skip("no tmpfs with 1 GiB free at /dev/shm: the tests use the usual temporary directory")
	}
	root := useMemoryTempDir()
	defer os.RemoveAll(root)
	if !strings.HasPrefix(root, "/dev/shm/gittest-tmp-") || os.TempDir() != root {
		t.Fatalf("root %q, os.TempDir() %q", root, os.TempDir())
	}
}
