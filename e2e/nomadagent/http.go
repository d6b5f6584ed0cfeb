//go:build unix

package nomadagent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

var httpClient = &http.Client{Timeout: 10 * time.Second}

// Do sends a request to the agent's HTTP API and decodes a JSON answer into
// out (unless nil). It returns the X-Nomad-Index header for blocking queries.
func (a *Agent) Do(ctx context.Context, method, path string, body, out any) (uint64, error) {
	return a.do(ctx, a.Addr, method, path, body, out)
}

func (a *Agent) do(ctx context.Context, addr, method, path string, body, out any) (uint64, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, addr+path, rd)
	if err != nil {
		return 0, err
	}
	if a.ManagementToken != "" {
		req.Header.Set("X-Nomad-Token", a.ManagementToken)
	}
	client := httpClient
	if _, ok := req.URL.Query()["wait"]; ok {
		client = http.DefaultClient // blocking query: bounded by ctx and ?wait
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	var index uint64
	fmt.Sscan(resp.Header.Get("X-Nomad-Index"), &index)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return index, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return index, nil
}

// waitFor polls check until it passes, p exits or timeout.
func waitFor(ctx context.Context, timeout time.Duration, p *proc, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := errors.New("no answer yet")
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil {
			last = err
		}
		select {
		case <-p.done:
			return fmt.Errorf("process exited: %v", p.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w; last check: %v", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type health struct {
	Client, Server *struct {
		Ok      bool
		Message string
	}
}

// checkServer: a leader is elected and the keyring has an active key (a
// node cannot register before: "keyring has not been initialized yet").
func (a *Agent) checkServer(ctx context.Context, addr string) error {
	var h health
	if _, err := a.do(ctx, addr, "GET", "/v1/agent/health?type=server", nil, &h); err != nil {
		return err
	}
	if h.Server == nil || !h.Server.Ok {
		return fmt.Errorf("server not healthy: %+v", h.Server)
	}
	if err := a.bootstrapACL(ctx, addr); err != nil {
		return err
	}
	var keys []struct{ State string }
	if _, err := a.do(ctx, addr, "GET", "/v1/operator/keyring/keys", nil, &keys); err != nil {
		return err
	}
	for _, k := range keys {
		if k.State == "active" {
			return nil
		}
	}
	return errors.New("no active root key yet")
}

// checkNode: the client at addr has registered, during this run, a node that
// is ready, eligible and has raw_exec (and docker, when configured) healthy.
// A -dev agent is also checked as a server. StatusUpdatedAt must be from this
// run: after a restart the node is still "ready" in the server's state until
// the client re-registers.
func (a *Agent) checkNode(ctx context.Context, addr string, since int64) error {
	if !a.opts.Persistent {
		if err := a.checkServer(ctx, addr); err != nil {
			return err
		}
	}
	var h health
	if _, err := a.do(ctx, addr, "GET", "/v1/agent/health?type=client", nil, &h); err != nil {
		return err
	}
	if h.Client == nil || !h.Client.Ok {
		return fmt.Errorf("client not healthy: %+v", h.Client)
	}
	var self struct {
		Stats struct {
			Client struct {
				NodeID string `json:"node_id"`
			}
		} `json:"stats"`
	}
	if _, err := a.do(ctx, addr, "GET", "/v1/agent/self", nil, &self); err != nil {
		return err
	}
	id := self.Stats.Client.NodeID
	var node struct {
		Status, SchedulingEligibility string
		StatusUpdatedAt               int64
		Drivers                       map[string]struct {
			Healthy           bool
			HealthDescription string
		}
	}
	if _, err := a.Do(ctx, "GET", "/v1/node/"+url.PathEscape(id), nil, &node); err != nil {
		return err
	}
	raw, docker := node.Drivers["raw_exec"], node.Drivers["docker"]
	switch {
	case node.StatusUpdatedAt < since:
		return fmt.Errorf("node %s not re-registered yet", id)
	case node.Status != "ready" || node.SchedulingEligibility != "eligible":
		return fmt.Errorf("node %s is %s/%s", id, node.Status, node.SchedulingEligibility)
	case !raw.Healthy:
		return fmt.Errorf("raw_exec not healthy: %q", raw.HealthDescription)
	case a.DockerHost != "" && !docker.Healthy:
		return fmt.Errorf("docker (%s) not healthy: %q", a.DockerHost, docker.HealthDescription)
	}
	a.NodeID = id
	return nil
}

// drain stops and purges every job, waits until no allocation is still
// pending or running, then forces client GC until no mount is left under
// state/ (GC destroys allocations asynchronously).
func (a *Agent) drain(ctx context.Context) error {
	var jobs []struct{ ID, Namespace string }
	if _, err := a.Do(ctx, "GET", "/v1/jobs?namespace=*", nil, &jobs); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	for _, j := range jobs {
		q := url.Values{"purge": {"true"}, "namespace": {j.Namespace}}
		if _, err := a.Do(ctx, "DELETE", "/v1/job/"+url.PathEscape(j.ID)+"?"+q.Encode(), nil, nil); err != nil {
			return fmt.Errorf("drain: %w", err)
		}
	}
	for {
		var allocs []struct{ ID, ClientStatus string }
		if _, err := a.Do(ctx, "GET", "/v1/allocations?namespace=*", nil, &allocs); err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		busy := 0
		for _, al := range allocs {
			if al.ClientStatus == "pending" || al.ClientStatus == "running" {
				busy++
			}
		}
		if busy == 0 {
			break
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("drain: %d allocations still running: %w", busy, err)
		}
	}
	for {
		client := a.procs[len(a.procs)-1].Addr // GC is the client agent's
		if _, err := a.do(ctx, client, "PUT", "/v1/client/gc", nil, nil); err != nil {
			return fmt.Errorf("client gc: %w", err)
		}
		m, err := mountsUnder(a.path("state"))
		if err != nil || len(m) == 0 {
			return err
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("client gc left mounts %v: %w", m, err)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
