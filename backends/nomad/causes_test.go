package nomad_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// Real failures, each told by its cause: a certificate the client does not
// trust and a host name that does not resolve fail at once (retrying cannot
// help), on every path that makes requests; a server answering 500s is
// named with its status.
func TestErrorsByCause(t *testing.T) {
	var served atomic.Int32
	tlsServer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	defer tlsServer.Close()
	ctx := context.Background()
	ref := backends.Ref{Name: "x"}
	start := time.Now()
	b := backendFor(t, tlsServer.URL, "")
	paths := map[string]func() error{
		"status": func() error { _, err := b.Status(ctx, ref); return err },
		"watch":  func() error { return b.Watch(ctx, ref, func(*backends.Status) bool { return true }) },
		"logs":   func() error { return b.Logs(ctx, ref, backends.LogOptions{Follow: true}, &pieces{}) },
		"list":   func() error { _, err := b.List(ctx, backends.ListOptions{}); return err },
		"delete": func() error { return b.Delete(ctx, ref) },
	}
	for name, call := range paths {
		err := call()
		if !errors.Is(err, backends.ErrUnavailable) || !strings.Contains(err.Error(), "TLS handshake with Nomad at "+tlsServer.URL+" failed (not retried)") ||
			!strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s against an untrusted certificate: %v; want unavailable (exit 3), a TLS failure, not retried", name, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("%d calls took %v: a certificate failure must not be retried (budget %s each)", len(paths), d, remote.BudgetText())
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the server answered %d requests through a failed handshake", n)
	}

	t0 := time.Now()
	net.DefaultResolver.LookupHost(ctx, "batchctl-test.invalid")
	lookup := time.Since(t0)
	start = time.Now()
	_, err := backendFor(t, "http://batchctl-test.invalid:4646", "").Status(ctx, ref)
	if !errors.Is(err, backends.ErrUnavailable) ||
		!strings.Contains(err.Error(), "cannot reach Nomad at http://batchctl-test.invalid:4646: host name does not resolve (not retried)") {
		t.Errorf("unresolvable host: %v", err)
	}
	if d := time.Since(start); d > 2*lookup+time.Second {
		t.Errorf("an unresolvable host took %v (one lookup: %v): retried?", d, lookup)
	}

	addr, requests, _ := fakeNomad(t, http.StatusInternalServerError, "boom")
	_, err = backendFor(t, addr, "").Status(ctx, ref)
	if !errors.Is(err, backends.ErrUnavailable) || !strings.Contains(err.Error(), "Nomad at "+addr+" answered 500 Internal Server Error: boom") ||
		requests.Load() != 1 {
		t.Errorf("a server answering 500: %v after %d requests; want its status and words, once (Nomad's 500 is often a refusal)", err, requests.Load())
	}
}

func TestUnavailableIsRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 1.75 s retry budget")
	}
	addr, requests, _ := fakeNomad(t, http.StatusServiceUnavailable, "overloaded")
	_, err := backendFor(t, addr, "").Status(context.Background(), backends.Ref{Name: "x"})
	want := "Nomad at " + addr + " answered 503 Service Unavailable (gave up after 4 attempts over 1.75s): overloaded"
	if !errors.Is(err, backends.ErrUnavailable) || !strings.Contains(err.Error(), want) || requests.Load() != 4 {
		t.Errorf("503: %v after %d requests; want %q after 4", err, requests.Load(), want)
	}
}

// pieces joins the pieces of long lines (remote.PartSink) and records the
// longest piece handed over.
type pieces struct {
	lines   []string
	open    strings.Builder
	longest int
	parts   int
}

func (p *pieces) Line(_ backends.LogSource, line string) {
	p.longest = max(p.longest, len(line))
	p.open.WriteString(line)
	p.lines = append(p.lines, p.open.String())
	p.open.Reset()
}

func (p *pieces) Part(_ backends.LogSource, piece string) {
	p.longest = max(p.longest, len(piece))
	p.parts++
	p.open.WriteString(piece)
}
