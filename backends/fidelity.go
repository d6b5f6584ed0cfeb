package backends

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
)

// SortFidelity orders a fidelity report as a Kubernetes Job declares its
// fields, so every backend's report reads in the same order; entries for the
// same field keep their order.
func SortFidelity(fs []Fidelity) {
	keys := make(map[string][]int, len(fs))
	for _, f := range fs {
		if _, ok := keys[f.Field]; !ok {
			keys[f.Field] = fieldOrder(f.Field)
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return lessKey(keys[fs[i].Field], keys[fs[j].Field]) })
}

// unknownField ranks fields the Kubernetes types do not name (map keys)
// after the known ones, keeping their relative (document) order.
const unknownField = 1 << 20

// fieldOrder turns a dotted path ("spec.template.spec.containers[0].env[1]")
// into sortable ranks: each name's position among its struct's fields in the
// Kubernetes Go types (which follow the API's field order), each list index
// as itself ([*] as 0).
func fieldOrder(path string) []int {
	var key []int
	t := reflect.TypeOf(batchv1.Job{})
	for _, seg := range strings.Split(path, ".") {
		name, index, hasIndex := strings.Cut(seg, "[")
		rank := unknownField
		if t != nil {
			rank, t = fieldRank(t, name)
		}
		key = append(key, rank)
		if hasIndex {
			n, _ := strconv.Atoi(strings.TrimSuffix(index, "]"))
			key = append(key, n)
		}
	}
	return key
}

// fieldRank finds the field named name (by JSON tag) in struct t, inline
// members flattened, and returns its position and its element struct type
// (nil when it is not a struct, so deeper segments rank as unknown).
func fieldRank(t reflect.Type, name string) (int, reflect.Type) {
	rank, found := 0, false
	var elem reflect.Type
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField() && !found; i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "" && f.Anonymous {
				walk(f.Type)
				continue
			}
			if tag == name {
				found = true
				elem = f.Type
				for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice || elem.Kind() == reflect.Array {
					elem = elem.Elem()
				}
				if elem.Kind() != reflect.Struct {
					elem = nil
				}
				return
			}
			rank++
		}
	}
	walk(t)
	if !found {
		return unknownField, nil
	}
	return rank, elem
}

func lessKey(a, b []int) bool {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}
