package remote

import (
	"bytes"
	"strings"
	"testing"
)

// A line longer than MaxLine comes out in pieces that join up byte for byte;
// what is held never grows past MaxLine plus one Feed; Keep is never cut.
func TestLinesBounded(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 3<<20/16+5) // 3 MiB and a bit
	keepAtCut := strings.Repeat("k", MaxLine-2) + "MARK" + "tail"
	in := "short\n" + long + "\n\n" + keepAtCut + "\nlast, no newline"
	type piece struct {
		text  string
		final bool
	}
	var got []piece
	l := Lines{Keep: "MARK"}
	emit := func(p []byte, final bool) { got = append(got, piece{string(p), final}) }
	for i := 0; i < len(in); i += 32 << 10 {
		l.Feed([]byte(in[i:min(i+32<<10, len(in))]), emit)
		if l.Pending() > MaxLine+32<<10 {
			t.Fatalf("holds %d bytes", l.Pending())
		}
	}
	l.Flush(emit)

	var lines []string
	var cur bytes.Buffer
	for _, p := range got {
		if len(p.text) > MaxLine {
			t.Errorf("a piece of %d bytes", len(p.text))
		}
		if strings.Contains(p.text, "MAR") && !strings.Contains(p.text, "MARK") {
			t.Errorf("Keep was cut: piece ends %q", p.text[max(0, len(p.text)-8):])
		}
		cur.WriteString(p.text)
		if p.final {
			lines = append(lines, cur.String())
			cur.Reset()
		}
	}
	want := []string{"short", long, "", keepAtCut, "last, no newline"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %d bytes %.40q…, want %d bytes %.40q…", i, len(lines[i]), lines[i], len(want[i]), want[i])
		}
	}
	if n := len(got); n < 9 {
		t.Errorf("%d pieces: the 3 MiB line was not cut", n)
	}
}
