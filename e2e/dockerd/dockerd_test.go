//go:build unix

package dockerd

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// The client the local backend's Docker runtime will use builds in this
// module and negotiates the private daemon's API (dockerd 20.10: 1.41).
func TestMobyClient(t *testing.T) {
	ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.ClientVersion(); v != "1.41" {
		t.Errorf("negotiated API %s, want 1.41", v)
	}
	t.Logf("%d containers", len(list.Items))

	// args replace the image's CMD, its ENTRYPOINT stays.
	created, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: EntrypointImage, Cmd: []string{"x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true})
	if _, err := c.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	wait := c.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-wait.Result:
		if r.StatusCode != 0 {
			t.Errorf("exit code %d", r.StatusCode)
		}
	case err := <-wait.Error:
		t.Fatal(err)
	}
	logs, err := c.ContainerLogs(ctx, created.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, logs); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "entrypoint x" {
		t.Errorf("output %q, want %q", got, "entrypoint x")
	}
}

// A second daemon in a temporary dir: started, given the images, stopped
// with a container running, and nothing of it is left.
func TestStartStop(t *testing.T) {
	shared := ForTest(t)
	if shared.Busybox() == "" {
		t.Skip("the shared daemon does not record its busybox")
	}
	dir, err := os.MkdirTemp("", "batchctl-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	d, err := Start(ctx, Options{Dockerd: shared.Dockerd(), Busybox: shared.Busybox(), Dir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING cold start with image import: %s", time.Since(start).Round(time.Millisecond))
	if _, err := Start(ctx, Options{Dockerd: shared.Dockerd(), Dir: dir}); err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Errorf("second Start in %s: %v, want already runs", dir, err)
	}
	body := strings.NewReader(`{"Image": "` + BusyboxImage + `", "Cmd": ["sleep", "300"]}`)
	var created struct{ ID string }
	if err := d.Do(ctx, "POST", "/containers/create", body, &created); err != nil {
		t.Fatal(err)
	}
	if err := d.Do(ctx, "POST", "/containers/"+created.ID+"/start", nil, nil); err != nil {
		t.Fatal(err)
	}

	// Another process stops it through Load, as make docker-down does.
	loaded, err := Load(dir)
	if err != nil || !loaded.Running() || loaded.Host != d.Host {
		t.Fatalf("Load: %+v, %v", loaded, err)
	}
	start = time.Now()
	if err := loaded.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING stop with a running container: %s", time.Since(start).Round(time.Millisecond))
	// Our child is reaped a moment after the other process saw it exit.
	if loaded.Running() || !d.waitExit(10*time.Second) {
		t.Error("dockerd still running after Stop")
	}
	if pids := leftovers(dir); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
	if m, _ := mountsUnder(dir); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}

	// Warm: the data-root keeps the images; none is imported again.
	start = time.Now()
	d, err = Start(ctx, Options{Dockerd: shared.Dockerd(), Busybox: shared.Busybox(), Dir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING warm start: %s", time.Since(start).Round(time.Millisecond))
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if m, err := mountsUnder(dir); err != nil || len(m) > 0 {
		t.Fatalf("not removing %s: mounts %v %v", dir, m, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Error(err)
	}
}
