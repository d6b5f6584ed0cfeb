package nomad

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
)

// retryBudget is the stated retry budget for an unreachable or leaderless
// Nomad: four tries over 1.75 s, then exit 3 naming the address. Watch and
// Logs -f retry for as long as their context lasts instead.
var retryBudget = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}

func budget() time.Duration {
	var d time.Duration
	for _, r := range retryBudget {
		d += r
	}
	return d
}

// call runs one API request within the retry budget and classifies its
// error for op on ref.
func (b *backend) call(ctx context.Context, op string, ref backends.Ref, fn func(*api.Client) error) error {
	c, err := b.api()
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err = fn(c)
		if err == nil || !transient(err) || attempt == len(retryBudget) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryBudget[attempt]):
		}
	}
	return b.classify(ctx, op, ref, err)
}

// transient errors may pass: the agent is restarting or electing a leader.
func transient(err error) bool {
	if isNetError(err) {
		return true
	}
	code, body := response(err)
	switch {
	case code == http.StatusBadGateway, code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return true
	case code >= 500:
		body = strings.ToLower(body)
		return strings.Contains(body, "no cluster leader") || strings.Contains(body, "no path to region") ||
			strings.Contains(body, "rpc error") || strings.Contains(body, "eof")
	}
	return false
}

func isNetError(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF)
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
		e.Msg = fmt.Sprintf("Nomad at %s answered %d: %s", b.cfg.Address, code, body)
	case isNetError(err):
		e.Msg = fmt.Sprintf("cannot reach Nomad at %s (gave up after %d attempts over %s): %v",
			b.cfg.Address, len(retryBudget)+1, budget(), rootCause(err))
	}
	return e
}

// rootCause strips url.Error's "Get URL:" wrapping, which repeats the
// address and the query.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func notFound(op string, ref backends.Ref) error {
	return &backends.Error{Kind: backends.ErrNotFound, Op: op, Ref: ref,
		Msg: fmt.Sprintf("job %s not found in Nomad namespace %s", ref.Name, ref.Namespace)}
}
