package diskstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackWindow is how many bytes a durable put writes before asking
// the kernel to start writing them back (sync_file_range), so that the
// final fsync finds most of the file already on its way to the disk.
const writebackWindow = 8 << 20

// writeback is the writer a durable put copies into: it hides *os.File's
// ReadFrom (whose generic fallback copies in 32 KiB writes, ignoring the
// put's buffer) and starts writeback every writebackWindow bytes.
type writeback struct {
	f              *os.File
	off, started   int64
	noSync, failed bool
}

func newWriteback(f *os.File, noSync bool) *writeback { return &writeback{f: f, noSync: noSync} }

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if !w.noSync && !w.failed && w.off-w.started >= writebackWindow {
		// Only a hint: if the kernel refuses it, fsync does the work.
		if unix.SyncFileRange(int(w.f.Fd()), w.started, w.off-w.started, unix.SYNC_FILE_RANGE_WRITE) != nil {
			w.failed = true
		}
		w.started = w.off
	}
	return n, err
}
