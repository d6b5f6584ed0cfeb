package nomad

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/api"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Nomad's smallest reservations (nomad/structs: MinCPU is 1 MHz, and a
// task needs at least 10 MB of memory).
const (
	minCPU    = 1
	minMemory = 10
)

// resources maps requests and limits to a Nomad reservation. Nomad counts
// CPU in MHz and has no per-task core share, so 1 CPU is taken as 1000 MHz;
// memory is reserved (and, without oversubscription, also the limit).
func (t *translator) resources(field string, r jobspec.Resources) *api.Resources {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return nil
	}
	pick := func(name string) (string, resource.Quantity, bool) {
		for _, m := range []struct {
			kind string
			list map[string]string
		}{{"requests", r.Requests}, {"limits", r.Limits}} {
			if v, ok := m.list[name]; ok {
				q, err := resource.ParseQuantity(v)
				return m.kind, q, err == nil
			}
		}
		return "", resource.Quantity{}, false
	}
	res := &api.Resources{}
	var done []string
	if kind, q, ok := pick("cpu"); ok {
		mhz := max(int(q.MilliValue()), minCPU)
		res.CPU = &mhz
		done = append(done, fmt.Sprintf("cpu %s %s → %d MHz (1 CPU taken as 1000 MHz; Nomad shares CPU by MHz, it does not cap it)", kind, q.String(), mhz))
	}
	if kind, q, ok := pick("memory"); ok {
		mb := max(int((q.Value()+1<<20-1)>>20), minMemory)
		res.MemoryMB = &mb
		done = append(done, fmt.Sprintf("memory %s %s → %d MB reserved", kind, q.String(), mb))
		if v, ok := r.Limits["memory"]; ok && kind == "requests" {
			if lq, err := resource.ParseQuantity(v); err == nil && lq.Cmp(q) > 0 {
				maxMB := int((lq.Value() + 1<<20 - 1) >> 20)
				res.MemoryMaxMB = &maxMB
				done = append(done, fmt.Sprintf("memory limit %s → memory_max %d MB (honoured only where the cluster enables oversubscription)", lq.String(), maxMB))
			}
		}
	}
	var ignored []string
	for _, m := range []struct {
		kind string
		list map[string]string
	}{{"requests", r.Requests}, {"limits", r.Limits}} {
		for name := range m.list {
			if name != "cpu" && name != "memory" {
				ignored = append(ignored, m.kind+"."+name)
			}
		}
	}
	sort.Strings(ignored)
	level := backends.Approximated
	msg := strings.Join(done, "; ")
	if len(ignored) > 0 {
		level = backends.Unsupported
		if msg != "" {
			msg += "; "
		}
		msg += "ignored: " + strings.Join(ignored, ", ")
	}
	t.note(field, level, "%s", msg)
	if res.CPU == nil && res.MemoryMB == nil {
		return nil
	}
	return res
}
