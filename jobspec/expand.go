package jobspec

import (
	"strings"
	"unicode/utf8"
)

// ExpandRefs replaces $(VAR) in a command, argument or env value exactly as
// the kubelet does (third_party/forked/golang/expansion Expand): $$ is a
// literal $, and a reference lookup does not know is left as written.
func ExpandRefs(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch r, size := utf8.DecodeRuneInString(s[i+1:]); r {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				// Unclosed: "$(" is kept and what follows still expands.
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			// A lone $ is kept with the rune after it, which the kubelet
			// decodes: an invalid byte comes out as U+FFFD.
			b.WriteString("$" + string(r))
			i += size
		}
	}
	return b.String()
}
