package k8s

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/batchctl/batchctl/backends"
)

// retryDelays is the stated retry budget for an unreachable or overloaded
// API server: four tries over 1.75 s, then exit 3 naming the address.
var retryDelays = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}

// call runs one API request with the retry budget and classifies its error.
func (b *backend) call(ctx context.Context, op string, ref backends.Ref, fn func(context.Context) error) error {
	if err := b.connect(); err != nil {
		return err
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = fn(ctx)
		if err == nil || !transient(err) || attempt == len(retryDelays) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryDelays[attempt]):
		}
	}
	return b.classify(op, ref, err)
}

// transient errors are worth another try: the server may be restarting.
func transient(err error) bool {
	if isNetError(err) {
		return true
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
}

func isNetError(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
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
	case isNetError(err):
		msg = fmt.Sprintf("cannot reach the Kubernetes API server %s (gave up after %d attempts over %s): %v",
			b.host, len(retryDelays)+1, budget(), rootCause(err))
	}
	return &backends.Error{Kind: kind, Op: op, Ref: ref, Msg: msg, Err: err}
}

func budget() time.Duration {
	var d time.Duration
	for _, r := range retryDelays {
		d += r
	}
	return d
}

// rootCause drops client-go's URL wrapping, which repeats the address.
func rootCause(err error) error {
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			return err
		}
		err = ue.Err
	}
}
