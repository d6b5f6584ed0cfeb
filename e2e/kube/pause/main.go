//go:build linux

// Command pause is the pod sandbox process of the e2e harness's real node
// (the role of registry.k8s.io/pause, which cannot be pulled here): it holds
// the pod's namespaces by sleeping until SIGINT or SIGTERM, and reaps
// whatever children a shared PID namespace hands it. Built static
// (CGO_ENABLED=0) into the pause image that e2e/kube imports.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	chld := make(chan os.Signal, 16)
	signal.Notify(chld, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-chld:
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
