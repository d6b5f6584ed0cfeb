package remote

import (
	"bytes"

	"github.com/batchctl/batchctl/backends"
)

// MaxLine is the most of one log line a reader holds while it waits for the
// newline: 1 MiB. A longer line is passed on in pieces of at most MaxLine
// bytes, so memory stays bounded whatever a job prints.
const MaxLine = 1 << 20

// PartSink is backends.PartSink, where the backends' line readers meet it.
type PartSink = backends.PartSink

// Lines splits a byte stream into lines, holding at most MaxLine bytes of
// a line (plus what one Feed brings). The zero value is ready to use.
type Lines struct {
	// Keep, if set, is never cut in two where a long line is cut into
	// pieces: a marker that the reader looks for in each piece.
	Keep    string
	partial []byte
}

// Emit receives a line without its newline (final) or a piece of a longer
// one that continues (not final). piece is only valid during the call.
type Emit func(piece []byte, final bool)

// Feed splits data into lines and pieces.
func (l *Lines) Feed(data []byte, emit Emit) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			l.hold(data, emit)
			return
		}
		if len(l.partial) == 0 && i <= MaxLine {
			emit(data[:i], true)
		} else {
			l.hold(data[:i], emit)
			l.Flush(emit)
		}
		data = data[i+1:]
	}
}

// Flush passes on what is held as a final line: the end of the stream,
// whether or not a newline ended it.
func (l *Lines) Flush(emit Emit) {
	if len(l.partial) == 0 {
		return
	}
	emit(l.partial, true)
	l.partial = l.partial[:0]
	if cap(l.partial) > 64<<10 {
		l.partial = nil // a long line's buffer is not kept for the short ones
	}
}

// Pending is how many bytes are held.
func (l *Lines) Pending() int { return len(l.partial) }

// hold appends data and passes on MaxLine pieces while more is held.
func (l *Lines) hold(data []byte, emit Emit) {
	l.partial = append(l.partial, data...)
	for len(l.partial) > MaxLine {
		cut := MaxLine - heldBack(l.partial[:MaxLine], l.Keep)
		emit(l.partial[:cut], false)
		l.partial = l.partial[:copy(l.partial, l.partial[cut:])]
	}
}

// heldBack is the length of the longest proper prefix of keep that piece
// ends with: those bytes wait for the next piece, so keep is never split.
func heldBack(piece []byte, keep string) int {
	for k := min(len(keep)-1, len(piece)); k > 0; k-- {
		if bytes.HasSuffix(piece, []byte(keep[:k])) {
			return k
		}
	}
	return 0
}
