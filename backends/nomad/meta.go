package nomad

import (
	"strconv"
	"strings"

	"github.com/batchctl/batchctl/backends"
)

// Job meta carries the labels under their own keys (so Nomad users see them)
// and what the Nomad job cannot say by itself under keys starting with
// "batchctl:", which no Kubernetes label key can contain (a colon is not
// allowed there), so the two never collide.
const (
	metaPrefix      = "batchctl:"
	metaParallelism = metaPrefix + "parallelism"
	metaMode        = metaPrefix + "completion-mode"
	metaDeadline    = metaPrefix + "active-deadline-seconds"
	// metaAnnotation prefixes each annotation's key.
	metaAnnotation = metaPrefix + "annotation:"
)

// groupName is the one task group: the pod template.
const groupName = "pod"

// toMeta merges labels and annotations into Nomad meta.
func toMeta(labels, annotations map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range labels {
		m[k] = v
	}
	for k, v := range annotations {
		m[metaAnnotation+k] = v
	}
	return m
}

// labelsOf returns the labels stored in meta.
func labelsOf(meta map[string]string) map[string]string {
	labels := map[string]string{}
	for k, v := range meta {
		if !strings.HasPrefix(k, metaPrefix) {
			labels[k] = v
		}
	}
	return labels
}

// managed reports whether batchctl created the job.
func managed(meta map[string]string) bool {
	return meta[backends.ManagedByLabel] == backends.ManagedByValue
}

func metaInt(meta map[string]string, key string) (int64, bool) {
	v, ok := meta[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
