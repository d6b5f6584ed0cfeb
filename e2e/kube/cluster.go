//go:build linux

// Package kube starts a real Kubernetes control plane on loopback for
// batchctl's end-to-end tests: etcd, kube-apiserver, kube-controller-manager
// (the real Job controller), kube-scheduler, and a node to run the pods:
// kwok as a simulated kubelet, a real kubelet with containerd, runc and CNI,
// or both (see NodeKind). The binaries come from tools/k8s and Debian's
// packages (make k8s-tools); this package only runs them, so the main
// module gains no dependency.
package kube

import (
	"context"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Binaries expected in Options.BinDir for the default (kwok) cluster; see
// BinariesFor.
var Binaries = BinariesFor(NodeKwok)

// CannedLogLine is what every simulated container logged.
const CannedLogLine = "batchctl-e2e: hello from a simulated container"

// Pod annotations that kwok's stages (kwok.yaml) obey in place of running
// containers; durations are Go durations ("1.5s").
const (
	AnnotationExitCode   = "batchctl.dev/intended-exit-code"   // "0" or absent: Succeeded; else Failed with it
	AnnotationDuration   = "batchctl.dev/intended-duration"    // time Running; default 500ms
	AnnotationStartDelay = "batchctl.dev/intended-start-delay" // time in ContainerCreating; default 0
)

const nodeName = "kwok-node-0"

//go:embed kwok.yaml
var kwokConfig string

// Options configures Start.
type Options struct {
	BinDir  string                           // holds Binaries
	WorkDir string                           // certificates, etcd data, logs, kubeconfig; created if missing
	Logf    func(format string, args ...any) // progress; nil for silence
	Timeout time.Duration                    // overall readiness budget; default 2m
	Detach  bool                             // processes outlive the caller (new session), for make k8s-up
	Node    NodeKind                         // what runs the pods; default NodeKwok
}

// Cluster is a running control plane.
type Cluster struct {
	Kubeconfig string // admin kubeconfig (client certificate, system:masters)
	Server     string // https://127.0.0.1:PORT
	WorkDir    string

	opts      Options
	pki       *pki
	procs     []*proc // in start order
	apiserver *proc
	api       *apiClient
	node      *realNode // nil without a real node
}

// Start brings up the control plane and returns once the API server is ready,
// the nodes are Ready and schedulable and the default service account
// exists. On failure everything started is stopped again and the error
// carries the tail of the failing component's log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.WorkDir == "" {
		return nil, errors.New("kube: Options.WorkDir is required")
	}
	var err error
	if opts.BinDir, err = filepath.Abs(opts.BinDir); err != nil {
		return nil, err
	}
	if opts.WorkDir, err = filepath.Abs(opts.WorkDir); err != nil {
		return nil, err
	}
	if opts.Node, err = ParseNodeKind(string(opts.Node)); err != nil {
		return nil, err
	}
	if m := missingTools(opts.BinDir, opts.Node); m != "" {
		return nil, fmt.Errorf("kube: missing %s (run make k8s-tools)", m)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	c := &Cluster{WorkDir: opts.WorkDir, opts: opts}
	if opts.Node.kubelet() {
		if c.node, err = newRealNode(opts.WorkDir, opts.BinDir); err != nil {
			return nil, err
		}
	}
	if err := c.start(ctx); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	t0 := time.Now()
	w := c.WorkDir
	// A fresh cluster each time: old etcd data would resurrect old objects,
	// old logs would mislead.
	if err := os.RemoveAll(filepath.Join(w, "etcd")); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(w, "logs")); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(w, "logs"), 0o755); err != nil {
		return err
	}
	var err error
	var nodeIPs []string
	if c.node != nil {
		nodeIPs = append(nodeIPs, c.node.IP)
	}
	if c.pki, err = newPKI(filepath.Join(w, "pki"), nodeIPs...); err != nil {
		return fmt.Errorf("kube: certificates: %w", err)
	}
	ports, err := freePorts(5)
	if err != nil {
		return err
	}
	etcdPort, peerPort, apiPort, kwokPort, kubeletPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	c.Kubeconfig = filepath.Join(w, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, c.kubeconfig(), 0o600); err != nil {
		return err
	}
	if c.api, err = newAPIClient(c.Server, c.pki); err != nil {
		return err
	}
	logFile := filepath.Join(w, "kwok-container.log")
	line := time.Now().UTC().Format(time.RFC3339Nano) + " stdout F " + CannedLogLine + "\n"
	if err := os.WriteFile(logFile, []byte(line), 0o644); err != nil {
		return err
	}
	kwokConf := filepath.Join(w, "kwok.yaml")
	if err := os.WriteFile(kwokConf, []byte(strings.ReplaceAll(kwokConfig, "@LOGFILE@", logFile)), 0o644); err != nil {
		return err
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	etcd := c.newProc("etcd",
		"--name=e2e", "--data-dir="+filepath.Join(w, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL,
		"--unsafe-no-fsync", // throwaway data; fsync only costs time here
		"--log-level=warn")
	if err := c.run(etcd); err != nil {
		return err
	}
	if err := c.waitFor(ctx, etcd, "etcd healthy", func() (bool, error) {
		return c.api.plainOK(ctx, etcdURL+"/health", `"health":"true"`), nil
	}); err != nil {
		return err
	}
	c.opts.Logf("kube: etcd up after %v", time.Since(t0).Round(time.Millisecond))

	p := c.pki
	c.apiserver = c.newProc("kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		"--tls-cert-file="+p.serverCert, "--tls-private-key-file="+p.serverKey,
		"--client-ca-file="+p.caCert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.saPub, "--service-account-signing-key-file="+p.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		// The kubernetes Service endpoint cannot point at loopback.
		"--endpoint-reconciler-type=none",
		// kubectl logs reaches kwok over TLS at the node's InternalIP (127.0.0.1).
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority="+p.caCert,
		"--kubelet-client-certificate="+p.adminCert, "--kubelet-client-key="+p.adminKey,
		"--enable-priority-and-fairness=false", "--profiling=false")
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	c.opts.Logf("kube: kube-apiserver ready after %v", time.Since(t0).Round(time.Millisecond))

	kcm := c.newProc("kube-controller-manager",
		"--kubeconfig="+c.Kubeconfig,
		// root-ca-certificate-publisher: every namespace's kube-root-ca.crt,
		// which a real kubelet needs to mount a pod's service account token.
		"--controllers=job-controller,serviceaccount-controller,garbage-collector-controller,namespace-controller,"+
			"ttl-after-finished-controller,pod-garbage-collector-controller,node-lifecycle-controller,"+
			"root-ca-certificate-publisher-controller,cronjob-controller",
		"--root-ca-file="+p.caCert,
		"--leader-elect=false", "--secure-port=0",
		// The default 20 QPS would throttle the Job controller on large jobs.
		"--kube-api-qps=200", "--kube-api-burst=400")
	sched := c.newProc("kube-scheduler",
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--kube-api-qps=200", "--kube-api-burst=400")
	kwok := c.newProc("kwok",
		"--kubeconfig="+c.Kubeconfig, "--config="+kwokConf,
		"--manage-single-node="+nodeName, "--node-name="+nodeName,
		"--node-ip=127.0.0.1", "--node-port="+strconv.Itoa(kwokPort),
		"--server-address=127.0.0.1:"+strconv.Itoa(kwokPort),
		"--tls-cert-file="+p.kwokCert, "--tls-private-key-file="+p.kwokKey,
		"--node-lease-duration-seconds=40", "--cidr=10.244.0.1/16")
	// kwok silently merges ~/.kwok/kwok.yaml: give it an empty home.
	kwok.env = []string{"HOME=" + filepath.Join(w, "kwok-home")}
	for _, pr := range []*proc{kcm, sched} {
		if err := c.run(pr); err != nil {
			return err
		}
	}
	if c.node != nil {
		if err := c.localImagesPolicy(ctx); err != nil {
			return err
		}
		if err := c.startRealNode(ctx, kubeletPort); err != nil {
			return err
		}
	}
	if c.opts.Node.kwok() {
		if err := c.run(kwok); err != nil {
			return err
		}
		if err := c.createNode(ctx, c.opts.Node == NodeBoth); err != nil {
			return err
		}
		if err := c.waitFor(ctx, kwok, "node "+nodeName+" Ready", func() (bool, error) {
			return c.nodeReady(ctx, nodeName)
		}); err != nil {
			return err
		}
	}
	if c.node != nil {
		if err := c.waitFor(ctx, c.node.kubelet, "node "+RealNodeName+" Ready and untainted", func() (bool, error) {
			return c.nodeReady(ctx, RealNodeName)
		}); err != nil {
			return err
		}
		c.opts.Logf("kube: node %s ready after %v", RealNodeName, time.Since(t0).Round(time.Millisecond))
	}
	if err := c.waitFor(ctx, kcm, "default service account", func() (bool, error) {
		code, _, err := c.api.do(ctx, "GET", "/api/v1/namespaces/default/serviceaccounts/default", nil)
		return code == 200, err
	}); err != nil {
		return err
	}
	c.opts.Logf("kube: cluster ready after %v (KUBECONFIG=%s)", time.Since(t0).Round(time.Millisecond), c.Kubeconfig)
	return nil
}

func (c *Cluster) newProc(name string, args ...string) *proc {
	return &proc{
		name:    name,
		path:    filepath.Join(c.opts.BinDir, name),
		args:    args,
		logPath: filepath.Join(c.WorkDir, "logs", name+".log"),
	}
}

func (c *Cluster) run(p *proc) error {
	if err := p.start(c.opts.Detach); err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	if err := c.apiserver.start(c.opts.Detach); err != nil {
		return err
	}
	if !contains(c.procs, c.apiserver) {
		c.procs = append(c.procs, c.apiserver)
	}
	return c.waitFor(ctx, c.apiserver, "kube-apiserver /readyz", func() (bool, error) {
		code, _, _ := c.api.do(ctx, "GET", "/readyz", nil)
		return code == 200, nil
	})
}

// RestartAPIServer kills kube-apiserver (SIGKILL, as in a crash) and starts it
// again on the same port, returning once it is ready. Clients see dropped
// connections and watches in between; no state is lost (it is all in etcd).
func (c *Cluster) RestartAPIServer() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	c.apiserver.kill()
	t0 := time.Now()
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	c.opts.Logf("kube: kube-apiserver restarted, ready after %v", time.Since(t0).Round(time.Millisecond))
	return nil
}

// Stop stops every process this cluster started, in reverse order, and waits
// for each to exit; a real node first removes its pods (containers, network,
// mounts) and cgroups. The work directory is left for inspection.
func (c *Cluster) Stop() error {
	var errs []error
	if c.node != nil {
		if err := c.stopRealNode(); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		p.stop(10 * time.Second)
		if !p.exited() {
			errs = append(errs, fmt.Errorf("%s (pid %d) did not exit", p.name, p.cmd.Process.Pid))
		}
	}
	return errors.Join(errs...)
}

// waitFor polls cond until it holds, the context ends, or a started process
// exits; errors name what was awaited and show the log of owner (or of the
// process that died).
func (c *Cluster) waitFor(ctx context.Context, owner *proc, what string, cond func() (bool, error)) error {
	var last error
	for {
		for _, p := range c.procs {
			if p.exited() {
				return fmt.Errorf("kube: waiting for %s: %w", what, p.failure())
			}
		}
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			why := "interrupted"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				why = "timed out"
			}
			return fmt.Errorf("kube: %s waiting for %s (last error: %v); last lines of %s:\n%s",
				why, what, last, owner.logPath, tail(owner.logPath, 30))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) kubeconfig() []byte {
	b64 := base64.StdEncoding.EncodeToString
	return []byte(`apiVersion: v1
kind: Config
clusters:
- name: batchctl-e2e
  cluster:
    server: ` + c.Server + `
    certificate-authority-data: ` + b64(c.pki.caPEM) + `
users:
- name: batchctl-e2e-admin
  user:
    client-certificate-data: ` + b64(c.pki.adminPEM) + `
    client-key-data: ` + b64(c.pki.adminKeyPEM) + `
contexts:
- name: batchctl-e2e
  context:
    cluster: batchctl-e2e
    user: batchctl-e2e-admin
current-context: batchctl-e2e
`)
}

// freePorts reserves n distinct loopback ports (all listeners are held until
// every port is chosen).
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func contains(ps []*proc, p *proc) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}
