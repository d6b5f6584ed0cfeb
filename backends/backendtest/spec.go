package backendtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/batchctl/batchctl/jobspec"
)

// Pod template annotations that a simulated kubelet (kwok, see e2e/kube)
// obeys in place of running the command: the exit code and run time the
// script would have. Backends never read them; they are the test's knobs.
const (
	intendedExitCodeAnnotation = "batchctl.dev/intended-exit-code"
	intendedDurationAnnotation = "batchctl.dev/intended-duration"
)

// jobSpec is a test job; manifest renders it as the YAML a user would write.
type jobSpec struct {
	name          string
	generateName  string
	namespace     string
	labels        map[string]string
	completions   int32
	parallelism   int32
	indexed       bool
	restartPolicy string // default Never
	backoffLimit  *int32
	deadline      int64
	ttl           *int32
	script        string // run as sh -c script
	exitCode      int    // what script exits with, for backends that simulate
	duration      string // how long script runs, for backends that simulate ("30s")
	env           [][2]string
	suspend       bool
	grace         *int64 // terminationGracePeriodSeconds
	extra         string // more YAML under the container (indented 8 spaces)
}

func ptr[T any](v T) *T { return &v }

// q quotes s for YAML (a JSON string is a YAML double-quoted scalar).
func q(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}

func (s jobSpec) manifest() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("apiVersion: batch/v1")
	w("kind: Job")
	w("metadata:")
	if s.generateName != "" {
		w("  generateName: %s", q(s.generateName))
	} else {
		w("  name: %s", q(s.name))
	}
	if s.namespace != "" {
		w("  namespace: %s", q(s.namespace))
	}
	if len(s.labels) > 0 {
		w("  labels:")
		keys := make([]string, 0, len(s.labels))
		for k := range s.labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			w("    %s: %s", q(k), q(s.labels[k]))
		}
	}
	w("spec:")
	if s.completions > 0 {
		w("  completions: %d", s.completions)
	}
	if s.parallelism > 0 {
		w("  parallelism: %d", s.parallelism)
	}
	if s.indexed {
		w("  completionMode: Indexed")
	}
	if s.backoffLimit != nil {
		w("  backoffLimit: %d", *s.backoffLimit)
	}
	if s.deadline > 0 {
		w("  activeDeadlineSeconds: %d", s.deadline)
	}
	if s.ttl != nil {
		w("  ttlSecondsAfterFinished: %d", *s.ttl)
	}
	if s.suspend {
		w("  suspend: true")
	}
	w("  template:")
	w("    metadata:")
	w("      annotations:")
	w("        %s: %s", q(intendedExitCodeAnnotation), q(fmt.Sprint(s.exitCode)))
	if s.duration != "" {
		w("        %s: %s", q(intendedDurationAnnotation), q(s.duration))
	}
	w("    spec:")
	rp := s.restartPolicy
	if rp == "" {
		rp = "Never"
	}
	w("      restartPolicy: %s", rp)
	if s.grace != nil {
		w("      terminationGracePeriodSeconds: %d", *s.grace)
	}
	w("      containers:")
	w("      - name: main")
	w("        image: busybox:1.36")
	w("        command: [\"sh\", \"-c\", %s]", q(s.script))
	if len(s.env) > 0 {
		w("        env:")
		for _, e := range s.env {
			w("        - name: %s", q(e[0]))
			w("          value: %s", q(e[1]))
		}
	}
	b.WriteString(s.extra)
	return b.String()
}

// parse turns the spec into a Job the way the CLI does.
func (s jobSpec) parse(t *testing.T) *jobspec.Job {
	t.Helper()
	job, err := jobspec.Parse(s.name+".yaml", strings.NewReader(s.manifest()))
	if err != nil {
		t.Fatalf("parse test manifest: %v\n%s", err, s.manifest())
	}
	return job
}

// runID keeps names unique across concurrent runs against one cluster.
var runID = func() string {
	const a = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 4)
	for i := range b {
		b[i] = a[rand.IntN(len(a))]
	}
	return string(b)
}()

// jobName derives a valid, unique job name from the test's name.
func jobName(t *testing.T, suffix string) string {
	h := fnv.New32a()
	h.Write([]byte(t.Name()))
	base := strings.ToLower(t.Name()[strings.LastIndexByte(t.Name(), '/')+1:])
	var b strings.Builder
	for _, r := range base {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	short := b.String()
	if len(short) > 20 {
		short = short[:20]
	}
	name := fmt.Sprintf("bt-%s-%s%x", short, runID, h.Sum32()&0xffff)
	if suffix != "" {
		name += "-" + suffix
	}
	return name
}
