//go:build unix

package git

import (
	"os/exec"
	"syscall"
)

// interruptOnCancel makes a cancelled cmd receive SIGINT, with its process
// group (its own: the hooks and helpers it starts get it too).
func interruptOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// A negative pid signals the process group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	}
}
