package local

import (
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/batchctl/batchctl/jobspec"
)

const indexEnv = "JOB_COMPLETION_INDEX"

// podInfo is what a pod's Downward API (env[].valueFrom.fieldRef) reads.
type podInfo struct {
	name, namespace, uid string
	labels, annotations  map[string]string
	nodeName, hostIP     string
	serviceAccount       string
}

// inheritedEnv is env without batchctl's own variables (BATCHCTL_*, which
// may hold credentials such as BATCHCTL_NOMAD_TOKEN, and _BATCHCTL_*) and
// without hidden ones (credentials batchctl reads, such as NOMAD_TOKEN): the
// supervisor and the pods get the rest of the submitter's environment.
func inheritedEnv(env, hidden []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name) // Windows names ignore case
		if strings.HasPrefix(upper, "BATCHCTL_") || strings.HasPrefix(upper, "_BATCHCTL_") || slices.ContainsFunc(hidden, func(h string) bool { return strings.EqualFold(h, name) }) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// envBuilder is a container's environment as it is assembled: the
// runtime's base (exec: the environment batchctl ran in, filtered when
// Submit started the supervisor; docker: none, the image's own applies),
// then the manifest's env in order, then JOB_COMPLETION_INDEX unless the
// manifest sets it.
type envBuilder struct {
	env  []string
	pos  map[string]int    // position in env by name
	vars map[string]string // the container's own variables, for $(VAR)
}

func newEnvBuilder(base []string) *envBuilder {
	b := &envBuilder{env: make([]string, 0, len(base)+8), pos: make(map[string]int, len(base)+8), vars: map[string]string{}}
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		b.setRaw(name, kv)
	}
	return b
}

func (b *envBuilder) setRaw(name, kv string) {
	if i, ok := b.pos[name]; ok {
		b.env[i] = kv
		return
	}
	b.pos[name] = len(b.env)
	b.env = append(b.env, kv)
}

func (b *envBuilder) set(name, value string) {
	b.vars[name] = value
	b.setRaw(name, name+"="+value)
}

func (b *envBuilder) lookup(name string) (string, bool) {
	v, ok := b.vars[name]
	return v, ok
}

func (b *envBuilder) getenv(name string) string {
	if i, ok := b.pos[name]; ok {
		_, v, _ := strings.Cut(b.env[i], "=")
		return v
	}
	return ""
}

// containerSpec works out one run of container c of pod p: its
// environment (the Downward API read from the pod) and argv ($(VAR)
// expanded as Kubernetes does).
func (s *supervisor) containerSpec(p *podRun, c *ContainerPlan, init bool, restart int32) *containerSpec {
	b := newEnvBuilder(s.baseEnv)
	info := s.podInfo(p)
	for _, e := range c.Env {
		switch {
		case e.From == nil:
			// Kubernetes expands references to the entries defined before.
			b.set(e.Name, jobspec.ExpandRefs(e.Value, b.lookup))
		case e.From.FieldPath != "":
			b.set(e.Name, info.field(e.From.FieldPath))
		default:
			b.set(e.Name, s.resourceValue(c, e.From))
		}
	}
	if p.index != nil {
		if _, set := b.vars[indexEnv]; !set { // the manifest's own value wins, as in Kubernetes
			b.set(indexEnv, strconv.Itoa(int(*p.index)))
		}
	}
	expand := func(list []string) []string {
		if list == nil {
			return nil
		}
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = jobspec.ExpandRefs(a, b.lookup)
		}
		return out
	}
	cs := &containerSpec{plan: c, init: init, restart: restart, env: b.env, argv: expand(c.Argv),
		command: expand(c.Command), args: expand(c.Args)}
	if len(cs.argv) > 0 { // runtime exec; docker's image runs what it names
		cs.path, cs.pathErr = lookPath(cs.argv[0], b.getenv("PATH"))
	}
	return cs
}

// podInfo is what Kubernetes would have put in pod p: the Job controller's
// labels and annotations over the template's.
func (s *supervisor) podInfo(p *podRun) podInfo {
	tpl := s.rec.Manifest.Spec.Template
	info := podInfo{
		name: p.name, namespace: s.rec.Namespace, uid: p.uid,
		labels: map[string]string{}, annotations: map[string]string{},
		nodeName: s.host.name, hostIP: s.host.ip, serviceAccount: tpl.Spec.ServiceAccountName,
	}
	if info.serviceAccount == "" {
		info.serviceAccount = "default"
	}
	for k, v := range tpl.Labels {
		info.labels[k] = v
	}
	for k, v := range tpl.Annotations {
		info.annotations[k] = v
	}
	for _, k := range []string{"batch.kubernetes.io/controller-uid", "controller-uid"} {
		info.labels[k] = s.uid
	}
	for _, k := range []string{"batch.kubernetes.io/job-name", "job-name"} {
		info.labels[k] = s.rec.Name
	}
	if p.index != nil {
		idx := strconv.Itoa(int(*p.index))
		info.labels["batch.kubernetes.io/job-completion-index"] = idx
		info.annotations["batch.kubernetes.io/job-completion-index"] = idx
	}
	return info
}

// fieldPathSupported: the fieldRef paths Kubernetes allows in env.
func fieldPathSupported(path string) bool {
	switch path {
	case "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
		"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return true
	}
	_, _, ok := mapField(path)
	return ok
}

// mapField splits metadata.labels['k'] and metadata.annotations['k'].
func mapField(path string) (which, key string, ok bool) {
	for _, w := range []string{"metadata.labels", "metadata.annotations"} {
		if rest, found := strings.CutPrefix(path, w+"['"); found && strings.HasSuffix(rest, "']") {
			return w, strings.TrimSuffix(rest, "']"), true
		}
	}
	return "", "", false
}

// field reads a fieldRef as the kubelet would. The pod shares this
// machine's network: its IP is the host's.
func (i podInfo) field(path string) string {
	switch path {
	case "metadata.name":
		return i.name
	case "metadata.namespace":
		return i.namespace
	case "metadata.uid":
		return i.uid
	case "spec.nodeName":
		return i.nodeName
	case "spec.serviceAccountName":
		return i.serviceAccount
	case "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return i.hostIP
	}
	which, key, _ := mapField(path)
	if which == "metadata.labels" {
		return i.labels[key]
	}
	return i.annotations[key]
}

// resourceValue reads a resourceFieldRef as the kubelet does
// (pkg/api/v1/resource ExtractContainerResourceValue): a limit the
// container does not set is the node's capacity, a request defaults to the
// limit; the value is rounded up in units of the divisor.
func (s *supervisor) resourceValue(c *ContainerPlan, from *EnvSource) string {
	target := c
	if from.Container != "" {
		for _, cs := range [][]ContainerPlan{s.rec.Plan.InitContainers, s.rec.Plan.Containers} {
			for i := range cs {
				if cs[i].Name == from.Container {
					target = &cs[i]
				}
			}
		}
	}
	kind, name, _ := strings.Cut(from.Resource, ".")
	value := ""
	switch kind {
	case "limits":
		value = target.Limits[name]
	case "requests":
		if value = target.Requests[name]; value == "" {
			value = target.Limits[name]
		}
	}
	q, err := resource.ParseQuantity(value)
	if value == "" || err != nil {
		if kind == "requests" {
			return "0"
		}
		q = nodeCapacity(name)
	}
	divisor := resource.MustParse("1")
	if from.Divisor != "" {
		if d, err := resource.ParseQuantity(from.Divisor); err == nil && !d.IsZero() {
			divisor = d
		}
	}
	if name == "cpu" {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10)
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10)
}

// nodeCapacity is what this machine has of a resource.
func nodeCapacity(name string) resource.Quantity {
	switch name {
	case "cpu":
		return *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI)
	case "memory":
		return *resource.NewQuantity(totalMemory(), resource.BinarySI)
	}
	return *resource.NewQuantity(0, resource.DecimalSI)
}

// host is this machine as a node: its name and address.
type host struct{ name, ip string }

func thisHost() host {
	h := host{ip: "127.0.0.1"}
	h.name, _ = os.Hostname()
	// The address of the interface a packet to the outside would leave by;
	// nothing is sent.
	if c, err := net.Dial("udp", "192.0.2.1:9"); err == nil {
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
			h.ip = a.IP.String()
		}
		c.Close()
	}
	return h
}

// lookPath finds file in the container's PATH; a name with a slash is
// used as is (relative to the working directory, as exec does after chdir).
func lookPath(file, pathEnv string) (string, error) {
	if goruntime.GOOS == "windows" {
		return exec.LookPath(file)
	}
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}
