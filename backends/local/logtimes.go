package local

import (
	"bytes"
	"io"
	"log"
	"os"
	"sort"
	"strconv"
	"time"
)

// Each container log has a sidecar, LOG.times, saying when its bytes were
// written: a line "OFFSET UNIXNANO" per write, OFFSET the log's size before
// it. A log line's time is the write of its last byte: when the runtime had
// the whole line, as the kubelet's CRI logs stamp it. One writer appends to
// a log (its container's copier), so offsets only grow. The mark goes before
// the bytes it stamps: a reader never sees bytes without their mark.
func timesPath(logPath string) string { return logPath + ".times" }

// containerLog appends a container's output to its log file and its times,
// both created on the first byte: most pods of a large job print nothing,
// and an inode per silent pod would cost more than the pipe. A write that
// fails (a full disk) loses output, never blocks the container.
type containerLog struct {
	path   string
	f, tf  *os.File
	off    int64
	failed bool
}

func (w *containerLog) Write(b []byte) (int, error) {
	if w.failed || len(b) == 0 {
		return len(b), nil
	}
	if w.f == nil && !w.open() {
		return len(b), nil
	}
	if w.tf != nil {
		// A lost mark only makes its bytes take the previous one's time.
		_, _ = w.tf.Write(mark(w.off, time.Now()))
	}
	n, err := w.f.Write(b)
	w.off += int64(n)
	if err != nil {
		log.Printf("%s: %v (output is being lost)", w.path, err)
		w.failed = true
	}
	return len(b), nil
}

func (w *containerLog) open() bool {
	f, err := openNoFollow(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		log.Print(err)
		w.failed = true
		return false
	}
	w.f = f
	if fi, err := f.Stat(); err == nil {
		w.off = fi.Size() // batchctl's own message may have come first
	}
	if w.tf, err = openNoFollow(timesPath(w.path), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		log.Print(err)
	}
	return true
}

func (w *containerLog) close() {
	if w.f != nil {
		w.f.Close()
	}
	if w.tf != nil {
		w.tf.Close()
	}
}

var _ io.Writer = (*containerLog)(nil)

func mark(off int64, at time.Time) []byte {
	b := strconv.AppendInt(nil, off, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, at.UnixNano(), 10)
	return append(b, '\n')
}

// logTimes is what a reader has read of a log's times.
type logTimes struct {
	offs  []int64
	times []int64
	read  int64 // bytes of the times file consumed
}

// load reads the marks appended since the last load.
func (t *logTimes) load(path string) {
	f, err := openNoFollow(timesPath(path), os.O_RDONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(t.read, io.SeekStart); err != nil {
		return
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return // a mark being written: read it next time
		}
		line := data[:i]
		data = data[i+1:]
		t.read += int64(i + 1)
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		off, err1 := strconv.ParseInt(string(line[:sp]), 10, 64)
		ns, err2 := strconv.ParseInt(string(line[sp+1:]), 10, 64)
		if err1 != nil || err2 != nil || (len(t.offs) > 0 && off < t.offs[len(t.offs)-1]) {
			continue // torn or out of order: the previous mark covers its bytes
		}
		t.offs = append(t.offs, off)
		t.times = append(t.times, ns)
	}
}

// at is when the byte at offset off was written; zero when no mark covers
// it (a log written before batchctl kept times).
func (t *logTimes) at(off int64) time.Time {
	i := sort.Search(len(t.offs), func(i int) bool { return t.offs[i] > off }) - 1
	if i < 0 {
		return time.Time{}
	}
	return time.Unix(0, t.times[i]).UTC()
}
