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
	return remote.TransientStatus(statusCode(err)) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err)
}

// permanent errors end a watch that would otherwise retry until its
// context ends: no retry cures a refused identity or a certificate.
func permanent(err error) bool {
	return remote.Permanent(err) || apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err)
}

// statusCode is the HTTP status of an API error, 0 if there is none.
func statusCode(err error) int {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return int(status.Status().Code)
	}
	return 0
}

// server names the API server in messages.
func (b *backend) server() string { return "the Kubernetes API server " + b.host }

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
		msg = fmt.Sprintf("unauthorized by %s: %v", b.server(), err)
	case apierrors.IsForbidden(err):
		msg = fmt.Sprintf("forbidden by %s: %v", b.server(), err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		if c := remote.Classify(err); c != remote.NoCause {
			msg = remote.Describe(b.server(), c, err)
		} else if code := statusCode(err); code >= 500 || code == 429 {
			msg = remote.DescribeStatus(b.server(), code, transient(err), err.Error())
		}
	}
	return &backends.Error{Kind: kind, Op: op, Ref: ref, Msg: msg, Err: err}
}
