package version

import (
	"os"
	"syscall"
)

// growPipe enlarges the pipe git log writes into to 1 MiB (the default is
// 64 KiB), so that git keeps writing while the reader is briefly busy or
// descheduled instead of stalling. It is best effort.
func growPipe(f *os.File) {
	const fSetPipeSz = 1031 // F_SETPIPE_SZ
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, 1<<20)
		})
	}
}
