//go:build linux

package kube

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRealNode starts the control plane with the real node alone and checks
// what the harness promises: a pod runs its command in a container of the
// imported busybox image (even named without a tag, through the local
// images policy) under the node's own cgroup root; a missing image fails
// to pull at once; Stop leaves nothing on the machine: no container, shim,
// mount, cgroup or bridge.
func TestRealNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	c := ForTestNode(t, NodeKubelet)
	t.Logf("up in %v", time.Since(t0).Round(time.Millisecond))
	n := c.node.NodeState

	pod := func(name, image, script string) {
		t.Helper()
		body := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"},"spec":{"restartPolicy":"Never",
		"containers":[{"name":"main","image":"` + image + `","command":["sh","-c",` + quote(script) + `]}]}}`
		if code, b, err := c.Do(ctx, "POST", "/api/v1/namespaces/default/pods", []byte(body)); err != nil || code != 201 {
			t.Fatalf("create pod %s: HTTP %d %v: %s", name, code, err, b)
		}
	}
	type podStatus struct {
		Spec struct {
			Containers []struct{ ImagePullPolicy string }
		}
		Status struct {
			Phase             string
			ContainerStatuses []struct {
				State struct {
					Waiting    *struct{ Reason, Message string }
					Terminated *struct{ ExitCode int32 }
				}
			}
		}
	}
	get := func(name string) podStatus {
		t.Helper()
		code, b, err := c.Do(ctx, "GET", "/api/v1/namespaces/default/pods/"+name, nil)
		if err != nil || code != 200 {
			t.Fatalf("get pod %s: HTTP %d %v", name, code, err)
		}
		var p podStatus
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wait := func(name string, cond func(podStatus) bool) podStatus {
		t.Helper()
		for {
			p := get(name)
			if cond(p) {
				return p
			}
			select {
			case <-ctx.Done():
				t.Fatalf("pod %s: %+v", name, p.Status)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}

	pod("hello", "busybox", `echo "hello from $(hostname)"; cat /proc/self/cgroup; exit 3`)
	p := wait("hello", func(p podStatus) bool { return p.Status.Phase == "Failed" || p.Status.Phase == "Succeeded" })
	if p.Spec.Containers[0].ImagePullPolicy != "IfNotPresent" {
		t.Errorf("imagePullPolicy %q, want IfNotPresent from the local images policy", p.Spec.Containers[0].ImagePullPolicy)
	}
	if term := p.Status.ContainerStatuses[0].State.Terminated; p.Status.Phase != "Failed" || term == nil || term.ExitCode != 3 {
		t.Errorf("pod hello: %+v, want Failed with exit code 3", p.Status)
	}
	code, log, err := c.Do(ctx, "GET", "/api/v1/namespaces/default/pods/hello/log", nil)
	if err != nil || code != 200 || !strings.HasPrefix(string(log), "hello from hello\n") || !strings.Contains(string(log), n.CgroupRoot+"/kubepods/") {
		t.Errorf("log of hello: HTTP %d %v:\n%s", code, err, log)
	}

	pod("missing", MissingImage, "true")
	wait("missing", func(p podStatus) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil &&
			(cs[0].State.Waiting.Reason == "ErrImagePull" || cs[0].State.Waiting.Reason == "ImagePullBackOff")
	})

	pod("sleeper", BusyboxImage, "sleep 600")
	for {
		cs, err := c.RunningContainers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 && strings.HasPrefix(cs[0], "default/sleeper/main ") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("running containers: %v", cs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat("/sys/class/net/" + n.Bridge); err != nil {
		t.Errorf("bridge %s: %v", n.Bridge, err)
	}

	// Stop with a container running: nothing may stay behind.
	t0 = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(t0).Round(time.Millisecond))
	if _, err := os.Stat("/sys/class/net/" + n.Bridge); err == nil {
		t.Errorf("bridge %s is still there", n.Bridge)
	}
	if dirs := cgroupDirs(n.CgroupRoot); len(dirs) > 0 {
		t.Errorf("cgroups left: %v", dirs)
	}
	if killShims(n.Socket) > 0 {
		t.Errorf("containerd shims of %s were still running", n.Socket)
	}
	if mp := mountsUnder(n.Dir); len(mp) > 0 {
		t.Errorf("mounts left under %s: %v", n.Dir, mp)
	}
	entries, _ := os.ReadDir(containerLogLinks)
	for _, e := range entries {
		if target, err := os.Readlink(containerLogLinks + "/" + e.Name()); err == nil && strings.HasPrefix(target, n.Dir+"/") {
			t.Errorf("log link left: %s -> %s", e.Name(), target)
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
