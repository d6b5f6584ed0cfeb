//go:build linux

// Command k8s-up starts batchctl's e2e Kubernetes control plane in the
// background (make k8s-up; NODE=kubelet for a real node, NODE=both for the
// real node plus a tainted kwok node) and stops it again (make k8s-down ->
// k8s-up -down).
// On success it prints `export KUBECONFIG=...` on stdout; progress goes to
// stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/batchctl/batchctl/e2e/kube"
)

func main() {
	bin := flag.String("bin", ".cache/k8s/bin", "directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, and the real node's tools")
	node := flag.String("node", "kwok", "what runs the pods: kwok (simulated), kubelet (real containers) or both")
	dir := flag.String("dir", ".cache/k8s/run", "work directory: state, logs, kubeconfig")
	down := flag.Bool("down", false, "stop the control plane recorded in -dir")
	timeout := flag.Duration("timeout", 2*time.Minute, "readiness budget")
	flag.Parse()
	log.SetFlags(0)
	kind, err := kube.ParseNodeKind(*node)
	if err != nil {
		log.Fatal(err)
	}
	work, err := filepath.Abs(*dir)
	if err != nil {
		log.Fatal(err)
	}
	stateFile := filepath.Join(work, "state.json")

	st, err := kube.LoadState(stateFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Fatalf("k8s: %v", err)
	}
	if *down {
		if st == nil {
			log.Printf("k8s: nothing recorded in %s", stateFile)
			return
		}
		if err := st.Stop(10 * time.Second); err != nil {
			log.Fatalf("k8s-down: %v", err)
		}
		_ = os.Remove(stateFile)
		log.Printf("k8s: stopped (logs in %s)", filepath.Join(work, "logs"))
		return
	}
	if st != nil {
		if st.Alive() {
			if (st.Node != nil) != (kind != kube.NodeKwok) {
				log.Fatalf("k8s: already running at %s with another node; make k8s-down first", st.Server)
			}
			log.Printf("k8s: already running at %s", st.Server)
			fmt.Printf("export KUBECONFIG=%s\n", st.Kubeconfig)
			return
		}
		_ = st.Stop(5 * time.Second) // leftovers of a half-dead cluster
	}

	binDir, err := filepath.Abs(*bin)
	if err != nil {
		log.Fatal(err)
	}
	// Interrupted while starting: Start stops what it had started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t0 := time.Now()
	c, err := kube.Start(ctx, kube.Options{
		BinDir: binDir, WorkDir: work, Timeout: *timeout, Detach: true, Node: kind,
		Logf: log.Printf,
	})
	if err != nil {
		log.Fatalf("k8s-up: %v", err)
	}
	if err := c.SaveState(stateFile); err != nil {
		_ = c.Stop()
		log.Fatalf("k8s-up: %v", err)
	}
	log.Printf("k8s: up in %v at %s; logs in %s; stop with make k8s-down",
		time.Since(t0).Round(time.Millisecond), c.Server, filepath.Join(work, "logs"))
	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig)
}
