package jobspec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The schema is not written down here: the walker follows the Go types of
// batchv1.Job by their json tags, so every real field is known and nothing else is.

var (
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	timeType        = reflect.TypeFor[metav1.Time]()
	anyType         = reflect.TypeFor[any]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// loc is where a field's key and value are written (1-based; 0 when absent).
type loc struct {
	keyLine, keyCol int
	line, col       int
}

// walker checks a yaml.Node tree against a Go type and builds the equivalent
// JSON value, collecting errors, positions and the unmodelled paths on the way.
type walker struct {
	file       string
	errs       ErrorList
	tooMany    bool
	abort      bool // stop walking: a limit was hit
	locs       map[string]loc
	unmodelled []string
	// leaves and prefixes are the modelled field patterns (model.go) of
	// the kind of object walked.
	leaves, prefixes map[string]bool
	budget
}

func newWalker(file string) *walker {
	return &walker{file: file, locs: map[string]loc{}, leaves: modelledLeaves, prefixes: modelledPrefixes}
}

func (w *walker) errorAt(n *yaml.Node, field, msg string) {
	if w.abort {
		return
	}
	if len(w.errs) >= maxErrors {
		w.tooMany, w.abort = true, true
		return
	}
	w.errs = append(w.errs, &FieldError{File: w.file, Line: n.Line, Col: n.Column, Field: field, Msg: msg})
}

// fatal reports err and stops the walk: used for the hostile-input limits.
func (w *walker) fatal(n *yaml.Node, field, msg string) {
	if len(field) > 120 {
		field = field[:120] + "..." // a cycle's path is long and says nothing more
	}
	w.errorAt(n, field, msg)
	w.abort = true
}

func (w *walker) mismatch(n *yaml.Node, field, want string) {
	w.errorAt(n, field, "expected "+want+", got "+describe(n))
}

func isNull(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func childPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// record remembers where path's key (k, may be nil) and value are written.
func (w *walker) record(path string, k, v *yaml.Node) {
	l := loc{line: v.Line, col: v.Column}
	if k != nil {
		l.keyLine, l.keyCol = k.Line, k.Column
		if isNull(v) && v.Kind != yaml.AliasNode {
			l.line, l.col = k.Line, k.Column // an empty value has no useful position of its own
		}
	}
	w.locs[path] = l
}

// track classifies pattern (the path with [*] for indexes) for Unmodelled:
// it returns whether to keep tracking below it, after recording path if the
// neutral model does not carry it.
func (w *walker) track(path, pattern string, v *yaml.Node) bool {
	if isNull(v) {
		return false
	}
	switch {
	case w.leaves[pattern]:
		return false
	case w.prefixes[pattern]:
		return true
	}
	w.unmodelled = append(w.unmodelled, path)
	return false
}

// value walks n against t. It returns the JSON value (nil for null) and false
// when n is unusable, in which case an error was reported.
func (w *walker) value(n *yaml.Node, t reflect.Type, path, pattern string, tracking bool, depth int) (any, bool) {
	if w.abort {
		return nil, false
	}
	if n.Kind == yaml.AliasNode {
		defer w.expanding(n, path)()
		// Problems with the aliased value as a whole are reported where it is
		// used; those inside it, where they are written.
		target := *n.Alias
		target.Line, target.Column = n.Line, n.Column
		n = &target
	}
	if !w.spend(n, path, text(n)) {
		return nil, false
	}
	if depth > maxDepth {
		w.fatal(n, path, fmt.Sprintf("nested more than %d levels deep; refusing the manifest", maxDepth))
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case quantityType:
		return w.quantity(n, path)
	case intOrStringType:
		return w.intOrString(n, path)
	case timeType:
		return w.timestamp(n, path)
	}
	if t != anyType && reflect.PointerTo(t).Implements(unmarshalerType) {
		// Raw JSON holders (metav1.FieldsV1 and the like) take any value.
		return w.anyValue(n, path, depth)
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.object(n, t, path, pattern, tracking, depth)
	case reflect.Map:
		return w.mapping(n, t.Elem(), path, depth)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return w.bytes(n, path)
		}
		return w.list(n, t.Elem(), path, pattern, tracking, depth)
	case reflect.Interface:
		return w.anyValue(n, path, depth)
	case reflect.String:
		return w.str(n, path)
	case reflect.Bool:
		return w.boolean(n, path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return w.integer(n, t, path)
	case reflect.Float32, reflect.Float64:
		return w.float(n, path)
	}
	w.errorAt(n, path, "internal error: no schema for Go type "+t.String())
	return nil, false
}

// pair is one key/value of a mapping, after merge keys (<<) are expanded.
type pair struct {
	k, v      *yaml.Node
	key       string
	alias     *yaml.Node // the outermost merged alias v came in through, if any
	aliasPath string     // the path of the mapping that merges it
}

// pairs lists m's entries, reporting duplicate and non-scalar keys. Explicit
// keys win over merged ones, and earlier merge sources over later ones.
func (w *walker) pairs(m *yaml.Node, path string, child func(string) string, depth int) []pair {
	var out, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content) && !w.abort; i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		kn := k
		if kn.Kind == yaml.AliasNode {
			kn = kn.Alias
		}
		if !w.spendKey(k, kn, path) {
			return nil
		}
		if kn.Kind != yaml.ScalarNode {
			w.errorAt(k, path, "mapping keys must be strings, got "+describe(kn))
			continue
		}
		if kn.ShortTag() == "!!merge" {
			merged = append(merged, w.mergeSources(v, path, child, depth+1, true)...)
			continue
		}
		if first, dup := seen[kn.Value]; dup {
			w.errorAt(k, child(kn.Value), fmt.Sprintf("duplicate key; first defined at line %d", out[first].k.Line))
			continue
		}
		seen[kn.Value] = len(out)
		out = append(out, pair{k: k, v: v, key: kn.Value})
	}
	for _, p := range merged {
		if _, dup := seen[p.key]; !dup {
			seen[p.key] = len(out)
			out = append(out, p)
		}
	}
	return out
}

// mergeSources expands the value of a "<<" key: a mapping, or a list of them.
func (w *walker) mergeSources(v *yaml.Node, path string, child func(string) string, depth int, top bool) []pair {
	if w.abort {
		return nil
	}
	if depth > maxDepth {
		w.fatal(v, path, fmt.Sprintf("nested more than %d levels deep; refusing the manifest", maxDepth))
		return nil
	}
	var alias *yaml.Node
	if v.Kind == yaml.AliasNode {
		alias = v
		defer w.expanding(alias, path)()
		v = v.Alias
	}
	if !w.spend(v, path, 0) {
		return nil
	}
	switch {
	case v.Kind == yaml.MappingNode:
		ps := w.pairs(v, path, child, depth)
		if alias != nil {
			for i := range ps {
				ps[i].alias, ps[i].aliasPath = alias, path // outer to any alias inside v
			}
		}
		return ps
	case v.Kind == yaml.SequenceNode && top:
		var ps []pair
		for _, e := range v.Content {
			ps = append(ps, w.mergeSources(e, path, child, depth+1, false)...)
		}
		return ps
	}
	w.errorAt(v, path, "a merge key (<<) takes a mapping or a list of mappings, got "+describe(v))
	return nil
}

// spendKey counts a mapping key k (kn once aliases are resolved).
func (w *walker) spendKey(k, kn *yaml.Node, path string) bool {
	if k != kn {
		defer w.expanding(k, path)()
	}
	return w.spend(k, path, text(kn))
}

// walkPair walks a pair's value; one merged in through an alias counts as
// that alias's expansion.
func (w *walker) walkPair(p pair, t reflect.Type, path, pattern string, tracking bool, depth int) (any, bool) {
	if p.alias != nil {
		defer w.expanding(p.alias, p.aliasPath)()
	}
	return w.value(p.v, t, path, pattern, tracking, depth)
}

func (w *walker) object(n *yaml.Node, t reflect.Type, path, pattern string, tracking bool, depth int) (any, bool) {
	if n.Kind != yaml.MappingNode {
		w.mismatch(n, path, "a mapping")
		return nil, false
	}
	fields := fieldsOf(t)
	out := map[string]any{}
	child := func(k string) string { return childPath(path, k) }
	for _, p := range w.pairs(n, path, child, depth) {
		if w.abort {
			break // the result is discarded; a huge mapping would only cost time
		}
		cpath := child(p.key)
		f, ok := fields.byName[p.key]
		if !ok {
			msg := "unknown field"
			if s := suggest(p.key, fields.names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			w.errorAt(p.k, cpath, msg)
			continue
		}
		w.record(cpath, p.k, p.v)
		cpattern := childPath(pattern, p.key)
		ctrack := tracking && w.track(cpath, cpattern, p.v)
		if v, ok := w.walkPair(p, f, cpath, cpattern, ctrack, depth+1); ok && v != nil {
			out[p.key] = v
		}
	}
	return out, true
}

// mapping walks a Go map: any scalar keys, values of type elem.
func (w *walker) mapping(n *yaml.Node, elem reflect.Type, path string, depth int) (any, bool) {
	if n.Kind != yaml.MappingNode {
		w.mismatch(n, path, "a mapping")
		return nil, false
	}
	out := map[string]any{}
	child := func(k string) string { return path + "[" + k + "]" }
	for _, p := range w.pairs(n, path, child, depth) {
		if w.abort {
			break
		}
		cpath := child(p.key)
		if elem != anyType {
			w.record(cpath, p.k, p.v)
		}
		if v, ok := w.walkPair(p, elem, cpath, "", false, depth+1); ok {
			out[p.key] = v // kept even when null, as Kubernetes does
		}
	}
	return out, true
}

func (w *walker) list(n *yaml.Node, elem reflect.Type, path, pattern string, tracking bool, depth int) (any, bool) {
	if n.Kind != yaml.SequenceNode {
		w.mismatch(n, path, "a list")
		return nil, false
	}
	// Not more room than the node budget can fill: an aliased long list may
	// be walked many times before the budget runs out.
	out := make([]any, 0, min(len(n.Content), MaxDecodedNodes-w.nodes+1))
	// Only objects in lists (containers, env entries) are ever pointed at;
	// skipping scalars keeps a huge args list cheap.
	structs := elem.Kind() == reflect.Struct || elem.Kind() == reflect.Pointer && elem.Elem().Kind() == reflect.Struct
	for i, e := range n.Content {
		if w.abort {
			break
		}
		cpath := path + "[" + strconv.Itoa(i) + "]"
		if structs {
			w.record(cpath, nil, e)
		}
		cpattern := pattern + "[*]"
		ctrack := tracking && w.track(cpath, cpattern, e)
		v, _ := w.value(e, elem, cpath, cpattern, ctrack, depth+1)
		out = append(out, v) // a bad element stays as null to keep indexes
	}
	return out, true
}
