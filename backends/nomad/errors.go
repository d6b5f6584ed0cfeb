package nomad

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// call runs one API request within remote.Budget and classifies its error
// for op on ref. Watch and Logs -f retry for as long as their context lasts
// instead.
func (b *backend) call(ctx context.Context, op string, ref backends.Ref, fn func(*api.Client) error) error {
	c, err := b.api()
	if err != nil {
		return err
	}
	return b.classify(ctx, op, ref, remote.Retry(ctx, transient, func(context.Context) error { return fn(c) }))
}

// transient errors may pass: the agent is restarting or electing a leader.
func transient(err error) bool {
	if c := remote.Classify(err); c != remote.NoCause {
		return c.Transient()
	}
	code, body := response(err)
	switch {
	case remote.TransientStatus(code):
		return true
	case code >= 500:
		body = strings.ToLower(body)
		return strings.Contains(body, "no cluster leader") || strings.Contains(body, "no path to region") ||
			strings.Contains(body, "rpc error") || strings.Contains(body, "eof")
	}
	return false
}

// response returns the HTTP status and body of an API error (0 if none).
func response(err error) (int, string) {
	var ure api.UnexpectedResponseError
	if errors.As(err, &ure) {
		return ure.StatusCode(), strings.TrimSpace(ure.Body())
	}
	var urp *api.UnexpectedResponseError
	if errors.As(err, &urp) {
		return urp.StatusCode(), strings.TrimSpace(urp.Body())
	}
	return 0, ""
}

// classify maps an API error to batchctl's error kinds, in Nomad's words.
// The token never appears: the client sends it in a header, and errors
// carry only the address, status and body.
func (b *backend) classify(ctx context.Context, op string, ref backends.Ref, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctx.Err()
	}
	var be *backends.Error
	if errors.As(err, &be) {
		return err
	}
	e := &backends.Error{Kind: backends.ErrUnavailable, Op: op, Ref: ref, Err: err}
	code, body := response(err)
	switch {
	case code == http.StatusNotFound:
		e.Kind, e.Msg = backends.ErrNotFound, fmt.Sprintf("job %s not found in Nomad namespace %s", ref.Name, ref.Namespace)
	case code == http.StatusForbidden || code == http.StatusUnauthorized:
		e.Msg = fmt.Sprintf("permission denied by Nomad at %s (%d %s): check NOMAD_TOKEN (nomad.token) and its ACL policy", b.cfg.Address, code, body)
	case strings.Contains(body, "job already exists"):
		e.Kind, e.Msg = backends.ErrAlreadyExists, fmt.Sprintf("job %s already exists in Nomad namespace %s", ref.Name, ref.Namespace)
	case code == http.StatusBadRequest:
		e.Kind, e.Msg = backends.ErrInvalid, "Nomad rejected the request: "+body
	case code != 0:
		e.Msg = remote.DescribeStatus(b.server(), code, transient(err), body)
	default:
		if c := remote.Classify(err); c != remote.NoCause {
			e.Msg = remote.Describe(b.server(), c, err)
		}
	}
	return e
}

// server names the agent in messages.
func (b *backend) server() string { return "Nomad at " + b.cfg.Address }

func notFound(op string, ref backends.Ref) error {
	return &backends.Error{Kind: backends.ErrNotFound, Op: op, Ref: ref,
		Msg: fmt.Sprintf("job %s not found in Nomad namespace %s", ref.Name, ref.Namespace)}
}
