//go:build unix

package nomad_test

import (
	"context"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote/remotetest"
)

// A wait whose connection goes silent without a reset — a proxy that stops
// forwarding and keeps its sockets open — detects the silence within the
// stall timeout, reconnects once the network forwards again, and reports the
// outcome the job reached meanwhile.
func TestWaitResumesAfterSilentConnection(t *testing.T) {
	a := devAgent(t)
	const stall = 3 * time.Second
	remotetest.ShortStall(t, stall)
	proxy := remotetest.ProxyTo(t, a.Addr)
	direct, viaProxy := newBackend(t, a.Addr), newBackend(t, "http://"+proxy.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := direct.Submit(ctx, parseJob(t, `apiVersion: batch/v1
kind: Job
metadata: {name: silent-wait}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["sleep", "2"]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	defer direct.Delete(context.Background(), ref)

	remotetest.WaitAcrossStall(t, ctx, proxy, stall, stall+5*time.Second,
		func(ctx context.Context, fn func(*backends.Status) bool) error { return viaProxy.Watch(ctx, ref, fn) },
		func(ctx context.Context) error {
			return direct.Watch(ctx, ref, func(s *backends.Status) bool { return s.Phase.Terminal() })
		})
}
