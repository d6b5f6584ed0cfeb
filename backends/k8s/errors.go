package k8s

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// call runs one API request within remote.Budget and classifies its error.
func (b *backend) call(ctx context.Context, op string, ref backends.Ref, fn func(context.Context) error) error {
	if err := b.connect(); err != nil {
		return err
	}
	return b.classify(op, ref, remote.Retry(ctx, transient, fn))
}

// transient errors are worth another try: the server may be restarting or
// shedding load.
func transient(err error) bool {
	if c := remote.Classify(err); c != remote.NoCause {
		return c.Transient()
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
}

// classify maps a client-go error to batchctl's error kinds, keeping the
// server's own words and naming the address when it cannot be reached.
func (b *backend) classify(op string, ref backends.Ref, err error) error {
	if err == nil {
		return nil
	}
	kind := backends.ErrUnavailable
	msg := err.Error()
	switch {
	case apierrors.IsNotFound(err):
		kind, msg = backends.ErrNotFound, fmt.Sprintf("job %s not found", ref.Name)
	case apierrors.IsAlreadyExists(err):
		kind, msg = backends.ErrAlreadyExists, fmt.Sprintf("job %s already exists in namespace %s", ref.Name, ref.Namespace)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		kind = backends.ErrInvalid
		msg = "the API server rejected the job: " + msg
	case apierrors.IsUnauthorized(err):
		msg = fmt.Sprintf("unauthorized by the Kubernetes API server %s: %v", b.host, err)
	case apierrors.IsForbidden(err):
		msg = fmt.Sprintf("forbidden by the Kubernetes API server %s: %v", b.host, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		if c := remote.Classify(err); c != remote.NoCause {
			msg = remote.Describe("the Kubernetes API server "+b.host, c, err)
		}
	}
	return &backends.Error{Kind: kind, Op: op, Ref: ref, Msg: msg, Err: err}
}
