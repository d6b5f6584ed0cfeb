package backends

import (
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
)

// placementOnly are the fields (dotted paths, [*] for any index) that only
// say where or how soon a pod runs, or what others see of it: a backend
// that ignores them still produces the outcome Kubernetes would.
var placementOnly = []string{
	"spec.template.spec.nodeSelector", "spec.template.spec.affinity", "spec.template.spec.tolerations",
	"spec.template.spec.topologySpreadConstraints", "spec.template.spec.priorityClassName",
	"spec.template.spec.priority", "spec.template.spec.preemptionPolicy", "spec.template.spec.schedulerName",
	"spec.template.spec.nodeName", "spec.template.spec.schedulingGates", "spec.template.spec.imagePullSecrets",
	"spec.template.spec.serviceAccountName", "spec.template.spec.serviceAccount",
	"spec.template.spec.automountServiceAccountToken", "spec.template.spec.enableServiceLinks",
	"spec.template.spec.dnsPolicy", "spec.template.spec.dnsConfig", "spec.template.spec.hostname",
	"spec.template.spec.subdomain", "spec.template.spec.overhead", "spec.template.spec.readinessGates",
	"spec.template.metadata", "spec.selector", "spec.manualSelector", "spec.managedBy",
	"spec.template.spec.containers[*].ports", "spec.template.spec.containers[*].readinessProbe",
	"spec.template.spec.containers[*].imagePullPolicy", "spec.template.spec.containers[*].terminationMessagePath",
	"spec.template.spec.containers[*].terminationMessagePolicy", "spec.template.spec.containers[*].resources.requests",
	"spec.template.spec.containers[*].resources.limits.cpu",
	"spec.template.spec.initContainers[*].ports", "spec.template.spec.initContainers[*].imagePullPolicy",
	"spec.template.spec.initContainers[*].terminationMessagePath",
	"spec.template.spec.initContainers[*].terminationMessagePolicy",
	"spec.template.spec.initContainers[*].resources.requests", "spec.template.spec.initContainers[*].resources.limits.cpu",
}

// PlacementOnly reports whether ignoring the field at path (as in
// jobspec.Job.Unmodelled) changes only where or how soon pods run, never
// the job's outcome.
func PlacementOnly(path string) bool {
	generic := indexRE.ReplaceAllString(path, "[*]")
	for _, p := range placementOnly {
		if generic == p || strings.HasPrefix(generic, p+".") || strings.HasPrefix(generic, p+"[") {
			return true
		}
	}
	return false
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]`)

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
