//go:build linux

package kube

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// NodeKind says what runs the cluster's pods.
type NodeKind string

const (
	// NodeKwok: kwok simulates one node. Nothing executes: pods move through
	// phases as their annotations say (see kwok.yaml) and log CannedLogLine.
	NodeKwok NodeKind = "kwok"
	// NodeKubelet: a real node. A kubelet runs pods in containers through
	// containerd, runc and CNI (bridge); commands really run.
	NodeKubelet NodeKind = "kubelet"
	// NodeBoth: the real node runs every pod, and a kwok node is there too,
	// tainted, for pods that ask for it (SimulatedTaint, SimulatedNodeLabel):
	// hundreds of pods, or durations that would be slow to live through.
	NodeBoth NodeKind = "both"
)

// ParseNodeKind reads "kwok", "kubelet" or "both"; "" is kwok.
func ParseNodeKind(s string) (NodeKind, error) {
	switch k := NodeKind(s); k {
	case "":
		return NodeKwok, nil
	case NodeKwok, NodeKubelet, NodeBoth:
		return k, nil
	}
	return "", fmt.Errorf("kube: node %q: want kwok, kubelet or both", s)
}

func (k NodeKind) kwok() bool    { return k == NodeKwok || k == NodeBoth || k == "" }
func (k NodeKind) kubelet() bool { return k == NodeKubelet || k == NodeBoth }

const (
	// RealNodeName is the real node's name.
	RealNodeName = "kubelet-node-0"
	// SimulatedTaint keeps pods off the kwok node under NodeBoth unless they
	// tolerate it (effect NoSchedule, value "true").
	SimulatedTaint = "batchctl.dev/simulated"
	// SimulatedNodeLabel is the kwok node's label "type=kwok": a pod that
	// selects it and tolerates SimulatedTaint runs simulated under NodeBoth.
	SimulatedNodeLabel = "type"
)

// Tools of the real node that make k8s-tools puts in BinDir besides the
// control plane: the kubelet, the CRI client, the pause binary of the
// sandbox image, Debian's static busybox for the test image, and the CNI
// plugins under cni/.
var nodeBinaries = []string{"kubelet", "cri", "pause", "busybox", "cni/bridge", "cni/host-local", "cni/loopback"}

// System programs the real node runs from PATH (Debian's containerd and runc
// packages; make k8s-tools installs them when missing).
var nodeSystemPrograms = []string{"containerd", "ctr", "containerd-shim-runc-v2", "runc"}

// BinariesFor lists what BinDir must hold for a cluster with node kind k.
func BinariesFor(k NodeKind) []string {
	bins := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
	if k.kwok() {
		bins = append(bins, "kwok")
	}
	if k.kubelet() {
		bins = append(bins, nodeBinaries...)
	}
	return bins
}

// missingTools reports the first binary or system program a cluster of kind
// k lacks, or "".
func missingTools(binDir string, k NodeKind) string {
	for _, b := range BinariesFor(k) {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return filepath.Join(binDir, b)
		}
	}
	if k.kubelet() {
		for _, p := range nodeSystemPrograms {
			if _, err := exec.LookPath(p); err != nil {
				return p + " (Debian's containerd and runc packages)"
			}
		}
	}
	return ""
}

// NodeState is what tearing a real node down needs, recorded for make
// k8s-down as well.
type NodeState struct {
	Dir        string // <work>/node: containerd root and state, kubelet root, pod logs, CNI
	BinDir     string
	Socket     string // containerd's (and the CRI's) socket
	CgroupRoot string // the kubelet's --cgroup-root, e.g. /batchctl-1a2b3c4d
	Bridge     string // the CNI bridge, which also holds IP
	IP         string // the node's address (the kubelet refuses loopback ones)
}

// realNode is the kubelet node of one cluster.
type realNode struct {
	NodeState
	containerd *proc
	kubelet    *proc
}

// newRealNode derives the node's names from the work directory, so the
// same directory (make k8s-up) always uses the same cgroup and bridge, and
// clusters in different directories never share one.
func newRealNode(workDir, binDir string) (*realNode, error) {
	sum := sha256.Sum256([]byte(workDir))
	id := hex.EncodeToString(sum[:])[:10]
	n := &realNode{NodeState: NodeState{
		Dir:        filepath.Join(workDir, "node"),
		BinDir:     binDir,
		CgroupRoot: "/batchctl-" + id,
		Bridge:     "bctl" + id, // IFNAMSIZ: at most 15 characters
	}}
	n.Socket = filepath.Join(n.Dir, "containerd.sock")
	ip, err := nodeIP(sum[:])
	if err != nil {
		return nil, err
	}
	n.IP = ip.String()
	// sockaddr_un holds 108 bytes; the ttrpc socket adds ".ttrpc".
	if len(n.Socket)+len(".ttrpc") >= 108 {
		return nil, fmt.Errorf("kube: work directory %s is too long for containerd's socket path", workDir)
	}
	return n, nil
}

func (n *realNode) endpoint() string { return "unix://" + n.Socket }

// nodeIP picks the node's address in 198.18.0.0/15 (set aside for
// benchmarking networks, RFC 2544), from the work directory's hash, skipping
// addresses this machine already has. The kubelet validates that its node
// IP is not loopback and is on an interface, so the node gets one of its
// own on its bridge, where nothing else routes: the kubelet serves there
// and the API server reaches it there, without leaving the machine.
func nodeIP(seed []byte) (net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			taken[ipn.IP.String()] = true
		}
	}
	start := (uint32(seed[0])<<16 | uint32(seed[1])<<8 | uint32(seed[2])) % (1 << 17)
	for i := uint32(0); i < 1<<17; i++ {
		v := (start + i) % (1 << 17)
		ip := net.IPv4(198, 18+byte(v>>16), byte(v>>8), byte(v))
		if last := byte(v); last == 0 || last == 255 || taken[ip.String()] {
			continue
		}
		return ip, nil
	}
	return nil, errors.New("kube: no free address in 198.18.0.0/15 for the node")
}

// makeBridge creates the node's bridge with its address: the CNI bridge
// plugin then attaches pods to it as it finds it.
func (n *realNode) makeBridge() error {
	for _, args := range [][]string{
		{"link", "add", "name", n.Bridge, "type", "bridge"},
		{"addr", "add", n.IP + "/32", "dev", n.Bridge},
		{"link", "set", n.Bridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("kube: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// prepare removes what a previous node in the same directory left (after a
// crash), then creates the directories, the cgroup root and the configs.
func (n *realNode) prepare(kubeletPort int, p *pki, kubeconfig string) error {
	_ = cleanupNode(n.NodeState, nil)
	// A fresh node: old containerd state would name containers long gone.
	// Never remove through a mount point that could not be detached.
	if mp := mountsUnder(n.Dir); len(mp) > 0 {
		return fmt.Errorf("kube: %s still has mounts from an earlier node: %v", n.Dir, mp)
	}
	if err := os.RemoveAll(n.Dir); err != nil {
		return err
	}
	for _, d := range []string{"containerd/root", "containerd/state", "containerd/opt", "cni/conf", "cni/data", "kubelet", "pod-logs", "images"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := makeCgroupRoot(n.CgroupRoot); err != nil {
		return fmt.Errorf("kube: cgroup root %s: %w", n.CgroupRoot, err)
	}
	if err := n.makeBridge(); err != nil {
		return err
	}
	files := map[string]string{
		"containerd.toml":               n.containerdConfig(),
		"cni/conf/10-batchctl.conflist": n.cniConfig(),
		"kubelet.yaml":                  n.kubeletConfig(kubeletPort, p),
		"resolv.conf":                   "nameserver 127.0.0.1\noptions ndots:1\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(n.Dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// containerdConfig: Debian's containerd 1.6 with its own root, state and
// socket, so it never meets the machine's (or a Docker daemon's)
// containerd; the CRI plugin with runc (cgroupfs), overlayfs, the CNI
// plugins from BinDir and the pause image as sandbox image.
func (n *realNode) containerdConfig() string {
	d := n.Dir
	return `version = 2
root = "` + d + `/containerd/root"
state = "` + d + `/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "` + n.Socket + `"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "` + d + `/containerd/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "` + PauseImage + `"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    disable_apparmor = true
    # Nothing here may lower an oom_score_adj (CAP_SYS_RESOURCE is not in
    # the bounding set of these machines): the pause container's -998 would
    # fail every sandbox. Keep scores at containerd's own or above.
    restrict_oom_score_adj = true
    max_container_log_line_size = 16384
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "` + filepath.Join(n.BinDir, "cni") + `"
      conf_dir = "` + d + `/cni/conf"
      max_conf_num = 1
`
}

// cniConfig: a bridge of the node's own with host-local addresses. No
// gateway and no masquerading: pods reach each other, and nothing on the
// machine changes beyond the bridge (no address, route, iptables rule or
// ip_forward), so clusters side by side cannot collide.
func (n *realNode) cniConfig() string {
	return `{
  "cniVersion": "1.0.0",
  "name": "batchctl-` + n.Bridge + `",
  "plugins": [{
    "type": "bridge",
    "bridge": "` + n.Bridge + `",
    "isGateway": false,
    "ipMasq": false,
    "hairpinMode": false,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": "10.244.0.0/24"}]],
      "dataDir": "` + n.Dir + `/cni/data"
    }
  }]
}
`
}

// kubeletConfig: serving on the node's address with the cluster CA's
// certificate, trusting the API server's client certificate; cgroup v1
// accepted (failCgroupV1: false) with the cgroupfs driver under a cgroup
// root of its own; eviction and image GC effectively off, so a busy shared
// disk never evicts a test pod or deletes the imported images; a cluster
// DNS address where nothing answers (pods need none, and it spares every pod
// the MissingClusterDNS warning); restarts of crashing containers backed
// off by at most 1s (instead of 10s doubling to 5m), so OnFailure cases take
// seconds.
func (n *realNode) kubeletConfig(port int, p *pki) string {
	return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ` + n.IP + `
port: ` + strconv.Itoa(port) + `
readOnlyPort: 0
healthzPort: 0
tlsCertFile: ` + p.kubeletCert + `
tlsPrivateKeyFile: ` + p.kubeletKey + `
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: ` + p.caCert + `}
authorization:
  mode: AlwaysAllow
oomScoreAdj: 0
containerRuntimeEndpoint: ` + n.endpoint() + `
cgroupDriver: cgroupfs
cgroupRoot: ` + n.CgroupRoot + `
failCgroupV1: false
failSwapOn: false
podLogsDir: ` + n.Dir + `/pod-logs
resolvConf: ` + n.Dir + `/resolv.conf
clusterDomain: cluster.local
clusterDNS: [10.0.0.10]
evictionHard: {memory.available: 1Mi, nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%", imagefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
crashLoopBackOff: {maxContainerRestartPeriod: 1s}
serializeImagePulls: false
shutdownGracePeriod: 0s
nodeStatusReportFrequency: 10s
`
}

// start runs containerd, imports the test images, then starts the kubelet.
func (c *Cluster) startRealNode(ctx context.Context, kubeletPort int) error {
	n := c.node
	if err := n.prepare(kubeletPort, c.pki, c.Kubeconfig); err != nil {
		return err
	}
	n.containerd = c.newProc("containerd", "--config="+filepath.Join(n.Dir, "containerd.toml"), "--log-level=warn")
	n.containerd.path, _ = exec.LookPath("containerd")
	if err := c.run(n.containerd); err != nil {
		return err
	}
	if err := c.waitFor(ctx, n.containerd, "containerd", func() (bool, error) {
		err := exec.CommandContext(ctx, "ctr", "--address", n.Socket, "version").Run()
		return err == nil, err
	}); err != nil {
		return err
	}
	t0 := time.Now()
	images, err := testImages(filepath.Join(n.BinDir, "busybox"), filepath.Join(n.BinDir, "pause"))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(images))
	for name := range images {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		file := filepath.Join(n.Dir, "images", name)
		if err := os.WriteFile(file, images[name], 0o644); err != nil {
			return err
		}
		out, err := exec.CommandContext(ctx, "ctr", "--address", n.Socket, "--namespace", "k8s.io",
			"images", "import", "--snapshotter", "overlayfs", file).CombinedOutput()
		if err != nil {
			return fmt.Errorf("kube: ctr images import %s: %v\n%s", name, err, out)
		}
	}
	c.opts.Logf("kube: containerd up, test images imported in %v", time.Since(t0).Round(time.Millisecond))

	n.kubelet = c.newProc("kubelet",
		"--config="+filepath.Join(n.Dir, "kubelet.yaml"),
		"--kubeconfig="+c.Kubeconfig,
		"--root-dir="+filepath.Join(n.Dir, "kubelet"),
		"--cert-dir="+filepath.Join(n.Dir, "kubelet", "pki"),
		"--hostname-override="+RealNodeName,
		"--node-ip="+n.IP,
		"--node-labels="+SimulatedNodeLabel+"=kubelet",
		"--v=1")
	return c.run(n.kubelet)
}

// localImagesPolicy makes every pod use the images the node has: with no
// registry to pull from, imagePullPolicy Always (the default for an image
// without a tag or tagged latest, such as "busybox") could never start a
// container. A MutatingAdmissionPolicy sets IfNotPresent on every container
// of every new pod, as it is admitted; an image the node lacks is still
// pulled, and fails (ErrImagePull, then ImagePullBackOff). Start returns
// once a dry-run pod shows the policy in force.
func (c *Cluster) localImagesPolicy(ctx context.Context) error {
	const policy = `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"MutatingAdmissionPolicy",
"metadata":{"name":"batchctl-e2e-local-images"},
"spec":{"matchConstraints":{"resourceRules":[{"apiGroups":[""],"apiVersions":["v1"],"operations":["CREATE"],"resources":["pods"]}]},
"failurePolicy":"Fail","reinvocationPolicy":"Never",
"mutations":[{"patchType":"ApplyConfiguration","applyConfiguration":{"expression":
"Object{spec: Object.spec{containers: object.spec.containers.map(c, Object.spec.containers{name: c.name, imagePullPolicy: \"IfNotPresent\"}), initContainers: has(object.spec.initContainers) ? object.spec.initContainers.map(c, Object.spec.initContainers{name: c.name, imagePullPolicy: \"IfNotPresent\"}) : []}}"}}]}}`
	const binding = `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"MutatingAdmissionPolicyBinding",
"metadata":{"name":"batchctl-e2e-local-images"},"spec":{"policyName":"batchctl-e2e-local-images"}}`
	for _, o := range []struct{ path, body string }{
		{"/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies", policy},
		{"/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings", binding},
	} {
		code, b, err := c.api.do(ctx, "POST", o.path, []byte(o.body))
		if err != nil {
			return fmt.Errorf("kube: local images policy: %w", err)
		}
		if code != 201 && code != 409 {
			return fmt.Errorf("kube: local images policy: HTTP %d: %s", code, b)
		}
	}
	probe := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"batchctl-e2e-policy-probe"},
"spec":{"containers":[{"name":"c","image":"busybox"}]}}`)
	return c.waitFor(ctx, c.apiserver, "the local images policy", func() (bool, error) {
		code, b, err := c.api.do(ctx, "POST", "/api/v1/namespaces/default/pods?dryRun=All", probe)
		if err != nil || code != 201 {
			return false, fmt.Errorf("dry-run pod: HTTP %d %v: %s", code, err, b)
		}
		return strings.Contains(string(b), `"imagePullPolicy":"IfNotPresent"`), nil
	})
}

// stopRealNode stops the kubelet, removes every pod sandbox through the CRI
// (containers, network, mounts), then stops containerd and cleans up.
func (c *Cluster) stopRealNode() error {
	n := c.node
	if n.kubelet != nil {
		n.kubelet.stop(10 * time.Second)
	}
	var errs []error
	if n.containerd != nil && !n.containerd.exited() {
		if err := criReset(n.NodeState); err != nil {
			errs = append(errs, err)
		}
		n.containerd.stop(10 * time.Second)
	}
	return errors.Join(append(errs, cleanupNode(n.NodeState, c.opts.Logf))...)
}

// criReset stops and removes every pod sandbox (tools/k8s/cri).
func criReset(n NodeState) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(n.BinDir, "cri"), "-endpoint", "unix://"+n.Socket, "reset").CombinedOutput()
	if err != nil {
		return fmt.Errorf("kube: removing the node's pods: %v\n%s", err, out)
	}
	return nil
}

// RunningContainers lists the real node's running containers as
// "NAMESPACE/POD/CONTAINER ID" (sandboxes not included), as the container
// runtime sees them: what is still running after a job was stopped.
func (c *Cluster) RunningContainers(ctx context.Context) ([]string, error) {
	if c.node == nil {
		return nil, errors.New("kube: no real node")
	}
	out, err := exec.CommandContext(ctx, filepath.Join(c.node.BinDir, "cri"), "-endpoint", c.node.endpoint(), "ps").Output()
	if err != nil {
		return nil, fmt.Errorf("kube: cri ps: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// cleanupNode releases what a node may leave on the machine when its
// processes are gone or were killed: processes in its cgroups (containers
// whose shim outlived containerd), shims of its containerd, mounts under
// its directory (rootfs overlays, shm, projected volumes), its cgroups, the
// kubelet's links to its logs, and its bridge. Each step is best effort and applies only to what carries
// the node's own names.
func cleanupNode(n NodeState, logf func(string, ...any)) error {
	var errs []error
	killed := killCgroupProcs(n.CgroupRoot)
	killed += killShims(n.Socket)
	if killed > 0 && logf != nil {
		logf("kube: killed %d processes the node left", killed)
	}
	if err := unmountUnder(n.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroupRoot(n.CgroupRoot); err != nil {
		errs = append(errs, err)
	}
	removeLogLinks(n.Dir)
	if _, err := os.Stat("/sys/class/net/" + n.Bridge); err == nil {
		if out, err := exec.Command("ip", "link", "delete", n.Bridge).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("kube: ip link delete %s: %v: %s", n.Bridge, err, out))
		}
	}
	return errors.Join(errs...)
}

// containerLogLinks is where a kubelet links every container's log (a
// fixed path, for log collectors).
const containerLogLinks = "/var/log/containers"

// removeLogLinks removes the links to logs under dir, which the kubelet
// removes only with containers it removes itself.
func removeLogLinks(dir string) {
	entries, _ := os.ReadDir(containerLogLinks)
	for _, e := range entries {
		p := filepath.Join(containerLogLinks, e.Name())
		if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, dir+"/") {
			_ = os.Remove(p)
		}
	}
}

// cgroupMounts lists the cgroup (v1) and cgroup2 mount points.
func cgroupMounts() (v1, v2 []string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// ... mount-point ... - fstype source options
		for i, fl := range fields {
			if fl != "-" || i+1 >= len(fields) || len(fields) < 5 {
				continue
			}
			switch fields[i+1] {
			case "cgroup":
				v1 = append(v1, unescapeMount(fields[4]))
			case "cgroup2":
				v2 = append(v2, unescapeMount(fields[4]))
			}
			break
		}
	}
	return v1, v2
}

// makeCgroupRoot creates root in every cgroup v1 hierarchy (the kubelet
// checks that --cgroup-root exists), with cpuset's CPUs and memory nodes
// copied from the top so that tasks may join.
func makeCgroupRoot(root string) error {
	v1, v2 := cgroupMounts()
	if len(v1) == 0 {
		// cgroup v2 alone: one directory; the kubelet enables controllers.
		for _, m := range v2 {
			return os.MkdirAll(filepath.Join(m, root), 0o755)
		}
		return errors.New("no cgroup hierarchy mounted")
	}
	for _, m := range v1 {
		dir := filepath.Join(m, root)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(m, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					return fmt.Errorf("%s: %w", filepath.Join(dir, f), err)
				}
			}
		}
	}
	return nil
}

// cgroupDirs lists root's directories in every hierarchy, deepest first.
func cgroupDirs(root string) []string {
	if root == "" || root == "/" {
		return nil
	}
	v1, v2 := cgroupMounts()
	var dirs []string
	for _, m := range append(v1, v2...) {
		_ = filepath.WalkDir(filepath.Join(m, root), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/") })
	return dirs
}

// killCgroupProcs SIGKILLs every process in root's cgroups (only a node's
// containers live there) and returns how many there were.
func killCgroupProcs(root string) int {
	seen := map[int]bool{}
	for round := 0; round < 20; round++ {
		var pids []int
		for _, d := range cgroupDirs(root) {
			b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
					pids = append(pids, pid)
				}
			}
		}
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			seen[pid] = true
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return len(seen)
}

// killShims SIGKILLs the containerd shims started for socket (their
// command line names it: -address SOCKET), which outlive a killed
// containerd by design.
func killShims(socket string) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-address" && args[i+1] == socket {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				n++
				break
			}
		}
	}
	return n
}

// removeCgroupRoot removes root's cgroups, children first. A cgroup with
// a process left cannot go: that is reported.
func removeCgroupRoot(root string) error {
	var errs []error
	for _, d := range cgroupDirs(root) {
		if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
		}
	}
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more", len(errs)-3))
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	if dir == "" || dir == "/" {
		return nil
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		if mp := unescapeMount(fields[4]); strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	return points
}

// unmountUnder detaches every mount point below dir, deepest first.
func unmountUnder(dir string) error {
	points := mountsUnder(dir)
	var errs []error
	for _, mp := range points {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("umount %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
