//go:build unix

package dockerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Do sends a request to the daemon's API (unversioned paths: the daemon's
// own version) and decodes a JSON answer into out unless nil.
func (d *Daemon) Do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return d.send(req, out)
}

func (d *Daemon) send(req *http.Request, out any) error {
	resp, err := d.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Status: resp.StatusCode, Msg: fmt.Sprintf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
	}
	return nil
}

// APIError is a non-2xx answer.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string { return e.Msg }

func (d *Daemon) httpClient() *http.Client {
	sock := strings.TrimPrefix(d.Host, "unix://")
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true, // a client per call: keep no idle sockets
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "unix", sock)
		},
	}}
}

// check: the API answers and the daemon carries our label for this Dir.
func (d *Daemon) check(ctx context.Context) error {
	var info struct{ Labels []string }
	if err := d.Do(ctx, "GET", "/info", nil, &info); err != nil {
		return err
	}
	want := Label + "=" + d.opts.Dir
	for _, l := range info.Labels {
		if l == want {
			return nil
		}
	}
	return fmt.Errorf("%s answers without the label %s: not batchctl's test daemon for %s", d.Host, want, d.opts.Dir)
}

// RemoveContainers force-removes every container, running or not: the
// daemon is private to tests, and a run starts and ends with none.
func (d *Daemon) RemoveContainers(ctx context.Context) error {
	var cs []struct{ ID string }
	if err := d.Do(ctx, "GET", "/containers/json?all=1", nil, &cs); err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs {
		err := d.Do(ctx, "DELETE", "/containers/"+url.PathEscape(c.ID)+"?force=1&v=1", nil, nil)
		if e, ok := err.(*APIError); ok && e.Status == http.StatusNotFound {
			err = nil // removed meanwhile (Nomad's own cleanup)
		}
		if err != nil {
			return fmt.Errorf("remove container: %w", err)
		}
	}
	if len(cs) > 0 {
		d.logf("removed %d containers", len(cs))
	}
	return nil
}
