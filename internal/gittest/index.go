package gittest

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// writeIndex writes the index of a working tree whose HEAD holds files
// (path → content), as `git reset` would: one entry per file, version 2,
// without extensions. An entry gets the stat data of its working tree file
// when that file holds the same content, so git takes it as clean without
// reading it again; otherwise zeros, so git compares the contents and sees
// the change. Doing this in Go saves a git process per Flush.
func writeIndex(gitDir, workDir string, files map[string]string) error {
	var buf bytes.Buffer
	buf.WriteString("DIRC")
	binary.Write(&buf, binary.BigEndian, [2]uint32{2, uint32(len(files))})
	for _, path := range slices.Sorted(maps.Keys(files)) {
		if len(path) >= 0xFFF {
			return fmt.Errorf("gittest: path too long for the index: %.40s…", path)
		}
		content := files[path]
		var st [10]uint32 // ctime s/ns, mtime s/ns, dev, ino, mode, uid, gid, size
		st[6] = 0o100644
		if info, ok := sameFile(filepath.Join(workDir, filepath.FromSlash(path)), content); ok {
			if data, ok := statData(info); ok {
				st = data
			}
		}
		binary.Write(&buf, binary.BigEndian, st)
		sum := blobSHA(content)
		buf.Write(sum[:])
		binary.Write(&buf, binary.BigEndian, uint16(len(path)))
		buf.WriteString(path)
		// NULs pad the entry (62 bytes before the path) to a multiple of 8,
		// at least one.
		buf.Write(make([]byte, 8-(62+len(path))%8))
	}
	sum := sha1.Sum(buf.Bytes())
	buf.Write(sum[:])
	tmp := filepath.Join(gitDir, "index.lock")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(gitDir, "index"))
}

// sameFile returns the file info of the regular file at path when it holds
// content.
func sameFile(path, content string) (os.FileInfo, bool) {
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() != int64(len(content)) || info.Mode()&0o111 != 0 {
		return nil, false
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != content {
		return nil, false
	}
	return info, true
}

// blobSHA is the object name git gives a file holding content.
func blobSHA(content string) [sha1.Size]byte {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write([]byte(content))
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	return sum
}
