// Package remotetest holds what the k8s and nomad backends' tests share to
// fault the network between batchctl and a real server.
package remotetest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// Proxy is a TCP proxy on loopback that forwards to a server until Stall,
// then goes silent the way a broken network does: it keeps every connection
// open, resets nothing, and forwards nothing in either direction (it still
// accepts new connections, which hang the same way). Resume forwards again,
// including whatever arrived meanwhile. It notices a client closing a
// connection even while stalled: that is how a test sees the client give up
// on a silent connection, without sleeping.
type Proxy struct {
	Addr string // host:port to connect to instead of the server

	target string
	ln     net.Listener

	mu      sync.Mutex
	cond    *sync.Cond // signalled on every change below
	stalled bool
	closed  bool
	conns   map[*conn]bool
	dropped int // connections the client closed while stalled
	total   int
}

type conn struct {
	client, server net.Conn
}

// NewProxy listens on 127.0.0.1 and forwards to target (host:port).
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[*conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	return p, nil
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		cn := &conn{client: c, server: s}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns[cn] = true
		p.total++
		p.cond.Broadcast()
		p.mu.Unlock()
		var once sync.Once
		end := func() {
			once.Do(func() {
				c.Close()
				s.Close()
				p.mu.Lock()
				delete(p.conns, cn)
				p.cond.Broadcast()
				p.mu.Unlock()
			})
		}
		go p.pipe(s, c, true, end)
		go p.pipe(c, s, false, end)
	}
}

// pipe copies src to dst while not stalled. Reading goes on while stalled
// (what arrives is held for Resume), so that a client's close is seen.
func (p *Proxy) pipe(dst, src net.Conn, fromClient bool, end func()) {
	data := make(chan []byte, 64)
	readErr := make(chan error, 1)
	go func() {
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				data <- buf[:n]
			}
			if err != nil {
				if fromClient {
					p.mu.Lock()
					if p.stalled {
						p.dropped++
						p.cond.Broadcast()
					}
					p.mu.Unlock()
				}
				readErr <- err
				close(data)
				return
			}
		}
	}()
	for chunk := range data {
		if !p.waitForwarding() {
			end()
			return
		}
		if _, err := dst.Write(chunk); err != nil {
			end()
			return
		}
	}
	<-readErr
	if !p.waitForwarding() {
		end()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite() // pass the half-close on; the other pipe ends the pair
		return
	}
	end()
}

// waitForwarding blocks while stalled; false once the proxy is closed.
func (p *Proxy) waitForwarding() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stalled && !p.closed {
		p.cond.Wait()
	}
	return !p.closed
}

// Stall stops forwarding, silently.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled, p.dropped = true, 0
	p.cond.Broadcast()
}

// Resume forwards again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = false
	p.cond.Broadcast()
}

// Conns is the number of connections accepted so far.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// WaitDropped blocks until the client has closed at least one connection
// since Stall: it detected the silence and gave up on it.
func (p *Proxy) WaitDropped(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.cond.Broadcast()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.dropped == 0 {
		if ctx.Err() != nil {
			return errors.New("no connection was dropped by the client: " + ctx.Err().Error())
		}
		if p.closed {
			return io.ErrClosedPipe
		}
		p.cond.Wait()
	}
	return nil
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	var open []*conn
	for c := range p.conns {
		open = append(open, c)
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, c := range open {
		c.client.Close()
		c.server.Close()
	}
	return err
}

// WaitAcrossStall checks that a wait survives a silent connection. It runs
// watch, a backend's Watch of a job through p, and stalls p once the watch
// reports the job active. The client must drop the silent connection
// within stall (the stall timeout) plus 2 s; finished, a watch of the same
// job that bypasses p, then sees the job end — its outcome is reached during
// the outage — and only then does p forward again: watch must return within
// resumeWithin, with the job Succeeded.
func WaitAcrossStall(t testing.TB, ctx context.Context, p *Proxy, stall, resumeWithin time.Duration,
	watch func(ctx context.Context, fn func(*backends.Status) bool) error, finished func(ctx context.Context) error) {
	t.Helper()
	var (
		last      *backends.Status
		stalledAt time.Time
		done      = make(chan error, 1)
	)
	go func() {
		done <- watch(ctx, func(s *backends.Status) bool {
			last = s
			if s.Active > 0 && stalledAt.IsZero() {
				stalledAt = time.Now() // before Stall: its lock orders this for WaitDropped
				p.Stall()              // what the watch waits on next goes nowhere
			}
			return s.Phase.Terminal()
		})
	}()
	if err := p.WaitDropped(ctx); err != nil {
		t.Fatal(err)
	}
	detected := time.Since(stalledAt)
	if err := finished(ctx); err != nil {
		t.Fatalf("waiting for the job directly: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the watch returned during the stall: %v", err)
	default:
	}
	p.Resume()
	resumed := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the watch across the stall: %v", err)
		}
	case <-time.After(resumeWithin):
		t.Fatalf("the watch did not return within %v of the network coming back", resumeWithin)
	}
	t.Logf("the silent connection was dropped %v after the stall (stall timeout %v); the watch returned %v after the network came back",
		detected.Round(time.Millisecond), stall, time.Since(resumed).Round(time.Millisecond))
	if detected > stall+2*time.Second {
		t.Errorf("the silence was detected after %v, more than the stall timeout %v (+2s)", detected, stall)
	}
	if last.Phase != backends.Succeeded {
		t.Errorf("outcome after the stall: %s, want Succeeded", last.Phase)
	}
}

// ProxyTo starts a Proxy to the host:port of server (a URL) for t, closed
// when t ends.
func ProxyTo(t testing.TB, server string) *Proxy {
	t.Helper()
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// ShortStall sets remote.StallTimeout to d for t: the detection is the same
// code, only faster. Backends read it when they connect, so call it before
// opening one.
func ShortStall(t testing.TB, d time.Duration) {
	old := remote.StallTimeout
	remote.StallTimeout = d
	t.Cleanup(func() { remote.StallTimeout = old })
}
