package local

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// fidelity reports what the local backend does not honour, in the order the
// fields have in a Kubernetes Job.
func fidelity(job *jobspec.Job) []backends.Fidelity {
	var out []backends.Fidelity
	add := func(field string, level backends.FidelityLevel, msg string) {
		out = append(out, backends.Fidelity{Field: field, Level: level, Message: msg})
	}
	for _, list := range []struct {
		field string
		cs    []jobspec.Container
	}{{"initContainers", job.Template.InitContainers}, {"containers", job.Template.Containers}} {
		for i, c := range list.cs {
			path := fmt.Sprintf("spec.template.spec.%s[%d]", list.field, i)
			if c.Image != "" {
				add(path+".image", backends.Note, fmt.Sprintf("image %s is not pulled: the command runs on this machine", c.Image))
			}
			if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
				add(path+".resources", backends.Unsupported, "resource requests and limits are not enforced by the local backend")
			}
		}
	}
	for _, path := range job.Unmodelled {
		add(path, backends.Unsupported, "not honoured by the local backend")
	}
	keys := make([][]int, len(out))
	for i, f := range out {
		keys[i] = fieldOrder(f.Field)
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lessKey(keys[idx[a]], keys[idx[b]]) })
	sorted := make([]backends.Fidelity, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted
}

// unknownField ranks fields the Kubernetes types do not name (map keys)
// after the known ones, keeping their relative (document) order.
const unknownField = 1 << 20

// fieldOrder turns a dotted path ("spec.template.spec.containers[0].env[1]")
// into sortable ranks: each name's position among its struct's fields in the
// Kubernetes Go types (which follow the API's field order), each list index
// as itself.
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
