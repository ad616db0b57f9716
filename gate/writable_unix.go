//go:build unix

package gate

import (
	"io/fs"
	"syscall"
)

// dirWritable checks that files can be created in dir (W_OK).
func dirWritable(dir string) error {
	if err := syscall.Access(dir, 0x2); err != nil {
		return &fs.PathError{Op: "write", Path: dir, Err: err}
	}
	return nil
}
