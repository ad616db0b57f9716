package gittest

import (
	"os"
	"syscall"
)

// tmpfsMagic is the f_type statfs reports for a tmpfs (linux/magic.h).
const tmpfsMagic = 0x01021994

// memoryDir returns a directory on a tmpfs with at least minFree bytes
// free (/dev/shm, mounted on most Linux systems), or "" when there is none.
func memoryDir(minFree uint64) string {
	const dir = "/dev/shm"
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Type != tmpfsMagic {
		return ""
	}
	if st.Bavail*uint64(st.Bsize) < minFree {
		return ""
	}
	return dir
}

// statData is an index entry's stat data for a file (ctime s/ns, mtime
// s/ns, dev, ino, mode, uid, gid, size), as git records it.
func statData(info os.FileInfo) ([10]uint32, bool) {
	stat, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return [10]uint32{}, false
	}
	return [10]uint32{uint32(stat.Ctim.Sec), uint32(stat.Ctim.Nsec), uint32(stat.Mtim.Sec), uint32(stat.Mtim.Nsec),
		uint32(stat.Dev), uint32(stat.Ino), 0o100644, stat.Uid, stat.Gid, uint32(stat.Size)}, true
}
