package nomad

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// collect joins the pieces of long lines (remote.PartSink), recording the
// longest piece it was handed.
type collect struct {
	lines   []string
	open    string
	longest int
}

func (c *collect) Line(src backends.LogSource, line string) {
	c.longest = max(c.longest, len(line))
	c.lines = append(c.lines, fmt.Sprintf("%d:%s", src.Attempt, c.open+line))
	c.open = ""
}

func (c *collect) Part(src backends.LogSource, piece string) {
	c.longest = max(c.longest, len(piece))
	c.open += piece
}

// Output arrives in arbitrary chunks: lines are reassembled whatever their
// length — a long one from pieces of at most remote.MaxLine, never held
// whole — the wrapper's run markers start the next attempt and never reach
// the sink, even where a long line is cut right inside one, and a run that
// ended without a newline keeps its last line.
func TestFeedSplitsRuns(t *testing.T) {
	var c collect
	l := &logReader{sink: &c}
	s := &stream{run: -1, base: 2, lines: remote.Lines{Keep: runMarker}}
	long := strings.Repeat("x", 3<<20)
	straddling := strings.Repeat("y", remote.MaxLine-3) // its run ends without a newline, a marker across the cut
	m := runMarker + "\n"
	out := m + "first\n\n" + long + "\n" + "no newline" + m + "second\n" + straddling + m + "third\n" + m
	for i := 0; i < len(out); i += 4093 {
		l.feed(s, []byte(out[i:min(i+4093, len(out))]))
		if s.lines.Pending() > remote.MaxLine+4093 {
			t.Fatalf("%d bytes held", s.lines.Pending())
		}
	}
	s.lines.Flush(func(piece []byte, final bool) { l.emit(s, piece, final) })
	want := []string{"2:first", "2:", "2:" + long, "2:no newline", "3:second", "3:" + straddling, "4:third"}
	if strings.Join(c.lines, "|") != strings.Join(want, "|") {
		got := strings.Join(c.lines, "|")
		t.Errorf("lines %.200q..., want %.200q...", got, strings.Join(want, "|"))
	}
	if s.run != 3 {
		t.Errorf("run %d after four markers, want 3", s.run)
	}
	if c.longest > remote.MaxLine {
		t.Errorf("a piece of %d bytes was passed on, more than %d", c.longest, remote.MaxLine)
	}
}
