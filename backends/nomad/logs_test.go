package nomad

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batchctl/batchctl/backends"
)

type collect struct{ lines []string }

func (c *collect) Line(src backends.LogSource, line string) {
	c.lines = append(c.lines, fmt.Sprintf("%d:%s", src.Attempt, line))
}

// Output arrives in arbitrary chunks: lines are reassembled whatever their
// length, the wrapper's run markers start the next attempt and never reach
// the sink, and a run that ended without a newline keeps its last line.
func TestFeedSplitsRuns(t *testing.T) {
	var c collect
	l := &logReader{sink: &c}
	s := &stream{run: -1, base: 2}
	long := strings.Repeat("x", 3<<20)
	m := runMarker + "\n"
	out := m + "first\n\n" + long + "\n" + "no newline" + m + "second\n" + m
	for i := 0; i < len(out); i += 4093 {
		l.feed(s, []byte(out[i:min(i+4093, len(out))]))
	}
	if len(s.partial) > 0 {
		l.emit(s, s.partial)
	}
	want := []string{"2:first", "2:", "2:" + long, "2:no newline", "3:second"}
	if strings.Join(c.lines, "|") != strings.Join(want, "|") {
		got := strings.Join(c.lines, "|")
		t.Errorf("lines %.200q..., want %.200q...", got, strings.Join(want, "|"))
	}
	if s.run != 2 {
		t.Errorf("run %d after three markers, want 2", s.run)
	}
}
