package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// StallTimeout is the stated bound on a silent connection: a connection
// that brings nothing from the server for 30 s while batchctl waits on it is
// dropped, and what was waiting reconnects. A reset or refused connection
// fails at once; this is for the one that hangs without a reset (a NAT or
// firewall that forgot the flow, a peer that vanished).
//
// The backends read it when they connect, so tests shorten it before
// opening a backend instead of sleeping for 30 s.
var StallTimeout = 30 * time.Second

// StallError is the error of a request abandoned because the connection
// stayed silent for After.
type StallError struct{ After time.Duration }

func (e *StallError) Error() string {
	return fmt.Sprintf("no answer from the server for %s: the connection was dropped", e.After)
}

// Timeout makes a stall a net.Error timeout: transient, retried.
func (e *StallError) Timeout() bool   { return true }
func (e *StallError) Temporary() bool { return true }

// HTTP2Health makes t's HTTP/2 connections prove they are alive within
// StallTimeout: a connection that received nothing for two thirds of it is
// pinged, and closed when the ping is not answered in the remaining third.
// Every request on it then fails, and is retried on a new connection. This
// covers long-lived streams too (a Kubernetes watch, a log follow), whose
// silence is otherwise legitimate. It must be called before t makes its
// first connection.
func HTTP2Health(t *http.Transport) {
	h2 := &http.HTTP2Config{}
	if t.HTTP2 != nil {
		*h2 = *t.HTTP2
	}
	h2.SendPingTimeout = StallTimeout * 2 / 3
	h2.PingTimeout = StallTimeout - h2.SendPingTimeout
	t.HTTP2 = h2
}

// Guard is a stall watchdog for one request: its Context is cancelled when
// Alive has not been called for the guard's limit. Start it before the
// request, call Alive whenever bytes arrive, Stop when done.
type Guard struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	limit  time.Duration

	mu      sync.Mutex
	timer   *time.Timer
	fired   bool
	stopped bool
}

// NewGuard watches for limit of silence; limit <= 0 is StallTimeout.
func NewGuard(parent context.Context, limit time.Duration) *Guard {
	if limit <= 0 {
		limit = StallTimeout
	}
	g := &Guard{limit: limit}
	g.ctx, g.cancel = context.WithCancelCause(parent)
	g.timer = time.AfterFunc(limit, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if !g.stopped {
			g.fired = true
			g.cancel(&StallError{After: limit})
		}
	})
	return g
}

// Context is the request's context.
func (g *Guard) Context() context.Context { return g.ctx }

// Alive restarts the clock: the server sent something.
func (g *Guard) Alive() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.fired && !g.stopped {
		g.timer.Reset(g.limit)
	}
}

// Stalled reports whether the guard fired.
func (g *Guard) Stalled() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fired
}

// Stop releases the guard and its context.
func (g *Guard) Stop() {
	g.mu.Lock()
	g.stopped = true
	g.timer.Stop()
	g.mu.Unlock()
	g.cancel(nil)
}

// Err turns err, from a request under the guard, into the *StallError when
// the guard cut it short (the request itself only sees its context end).
func (g *Guard) Err(err error) error {
	if err == nil || !g.Stalled() {
		return err
	}
	var stalled *StallError
	if errors.As(context.Cause(g.ctx), &stalled) {
		return stalled
	}
	return err
}
