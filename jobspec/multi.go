package jobspec

import (
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// MaxJobsPerFile bounds the Jobs one file may hold: a pipeline's file
// holds a handful, not thousands.
const MaxJobsPerFile = 1000

// ParseAll reads a manifest holding one or more Jobs: YAML documents
// separated by "---", or a List (apiVersion v1, kind List) whose items are
// Jobs. Every Job is checked and validated; the errors of all of them come
// together, each at its place in the file, and no Job is returned unless
// every one is valid. The decode limits apply to the whole file.
func ParseAll(source string, r io.Reader) ([]*Job, error) {
	return parseEach(source, r, buildSpent)
}

// LoadAll is ParseAll of the file at path, or of stdin when path is "-".
func LoadAll(path string, stdin io.Reader) ([]*Job, error) {
	return loadFile(path, stdin, ParseAll)
}

// parseEach builds every object of a file with build, as ParseAll
// describes: all the errors or all the objects.
func parseEach[T any](source string, r io.Reader, build func(string, *yaml.Node, *budget) (T, error)) ([]T, error) {
	data, errs := readManifest(source, r)
	if errs != nil {
		return nil, errs
	}
	roots, errs := parseDocuments(source, data)
	if errs != nil {
		return nil, errs
	}
	var out []T
	var all ErrorList
	spent := &budget{}
	for _, root := range roots {
		if len(out)+len(all) >= MaxJobsPerFile {
			all = append(all, &FieldError{File: source, Line: root.Line, Col: root.Column,
				Msg: fmt.Sprintf("a file holds at most %d Jobs", MaxJobsPerFile)})
			break
		}
		obj, err := build(source, root, spent)
		var list ErrorList
		switch {
		case errors.As(err, &list):
			all = append(all, list...)
		case err != nil:
			return nil, err
		default:
			out = append(out, obj)
		}
		if spent.nodes > MaxDecodedNodes || spent.size > MaxDecodedBytes {
			break // the limit error is in all
		}
	}
	if len(all) > 0 {
		return nil, sortErrors(all)
	}
	return out, nil
}

// parseDocuments returns the top node of every non-empty YAML document,
// the items of a List in its place.
func parseDocuments(source string, data []byte) ([]*yaml.Node, ErrorList) {
	var roots []*yaml.Node
	errs := eachDocument(source, data, func(top *yaml.Node) ErrorList {
		items, ok, errs := listItems(source, top)
		switch {
		case errs != nil:
			return errs
		case ok:
			roots = append(roots, items...)
		default:
			roots = append(roots, top)
		}
		return nil
	})
	if errs != nil {
		return nil, errs
	}
	if len(roots) == 0 {
		return nil, ErrorList{{File: source, Msg: "manifest is empty"}}
	}
	return roots, nil
}

// listItems recognises a List (kind: List, apiVersion: v1) and returns its
// items.
func listItems(source string, n *yaml.Node) ([]*yaml.Node, bool, ErrorList) {
	if n.Kind != yaml.MappingNode {
		return nil, false, nil
	}
	var kind, apiVersion, items *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "kind":
			kind = n.Content[i+1]
		case "apiVersion":
			apiVersion = n.Content[i+1]
		case "items":
			items = n.Content[i+1]
		}
	}
	if kind == nil || kind.Value != "List" {
		return nil, false, nil
	}
	if apiVersion == nil || apiVersion.Value != "v1" {
		return nil, true, ErrorList{{File: source, Line: n.Line, Col: n.Column, Field: "apiVersion",
			Msg: `a List has apiVersion "v1"`}}
	}
	if items == nil || items.Kind != yaml.SequenceNode {
		return nil, true, ErrorList{{File: source, Line: n.Line, Col: n.Column, Field: "items",
			Msg: "a List holds its Jobs in items, a sequence"}}
	}
	return items.Content, true, nil
}
