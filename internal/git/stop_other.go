//go:build !unix

package git

import "os/exec"

// interruptOnCancel keeps exec's default on systems without process groups
// and SIGINT: a cancelled cmd is killed.
func interruptOnCancel(cmd *exec.Cmd) {}
