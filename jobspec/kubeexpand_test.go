package jobspec

import (
	"bytes"
	"unicode/utf8"
)

// kubeExpand is the kubelet's $(VAR) expansion, for FuzzExpandRefs to
// compare against: Expand, tryReadVariableName and MappingFuncFor from
// k8s.io/kubernetes@v1.36.3 third_party/forked/golang/expansion/expand.go,
// shortened. That file is Copyright 2009 The Go Authors, BSD-style license
// (third_party/forked/golang/LICENSE).
func kubeExpand(input string, vars map[string]string) string {
	mapping := func(name string) string {
		if v, ok := vars[name]; ok {
			return v
		}
		return "$(" + name + ")"
	}
	var buf bytes.Buffer
	checkpoint := 0
	for cursor := 0; cursor < len(input); cursor++ {
		if input[cursor] == '$' && cursor+1 < len(input) {
			buf.WriteString(input[checkpoint:cursor])
			read, isVar, advance := kubeReadVariableName(input[cursor+1:])
			if isVar {
				buf.WriteString(mapping(read))
			} else {
				buf.WriteString(read)
			}
			cursor += advance
			checkpoint = cursor + 1
		}
	}
	return buf.String() + input[checkpoint:]
}

func kubeReadVariableName(input string) (string, bool, int) {
	r, size := utf8.DecodeRuneInString(input)
	switch r {
	case '$':
		return input[0:size], false, size
	case '(':
		for i := 1; i < len(input); i++ {
			if input[i] == ')' {
				return input[1:i], true, i + 1
			}
		}
		return "$(", false, 1
	default:
		return "$" + string(r), false, size
	}
}
