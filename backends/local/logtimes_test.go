package local

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Each write is stamped with its time at its first offset; a byte takes
// the time of the write that brought it; torn marks are ignored.
func TestLogTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pod_0_main.log")
	w := &containerLog{path: path}
	before := time.Now()
	w.Write([]byte("one\ntw"))
	mid := time.Now()
	w.Write([]byte("o\nthree\n"))
	w.close()
	after := time.Now()

	var lt logTimes
	lt.load(path)
	if len(lt.offs) != 2 || lt.offs[0] != 0 || lt.offs[1] != 6 {
		t.Fatalf("marks at %v, want [0 6]", lt.offs)
	}
	first, second := lt.at(3), lt.at(7) // "one\n" ends at 3; "two\n" at 7
	if first.Before(before.Truncate(0)) || first.After(mid) {
		t.Errorf("first line at %v, want between %v and %v", first, before, mid)
	}
	if second.Before(first) || second.After(after) {
		t.Errorf("second line at %v, want between %v and %v", second, first, after)
	}
	if got := lt.at(-1); !got.IsZero() {
		t.Errorf("a byte before every mark has time %v, want none", got)
	}

	// A torn last mark is read once whole; garbage is skipped.
	f, err := os.OpenFile(timesPath(path), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("garbage\n14 9")
	lt.load(path)
	if len(lt.offs) != 2 {
		t.Fatalf("a torn mark was read: %v", lt.offs)
	}
	f.WriteString("99\n")
	f.Close()
	lt.load(path)
	if len(lt.offs) != 3 || lt.offs[2] != 14 || lt.times[2] != 999 {
		t.Fatalf("marks %v %v, want a third at 14 (999)", lt.offs, lt.times)
	}
	if info, _ := os.Stat(timesPath(path)); info.Mode().Perm() != 0o600 {
		t.Errorf("times file mode %v, want 0600", info.Mode().Perm())
	}
}
