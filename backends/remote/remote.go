// Package remote is what the backends that talk to a server share: one
// stated retry budget for transient failures, and the classification of a
// failed request by its cause (TLS, DNS, refused, timeout, reset), so that
// a certificate problem is never retried and reported as "cannot reach".
// HTTP status codes stay with each backend: their meaning is the API's.
package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Budget is the stated retry budget for one request to a server that is
// unreachable or restarting: 4 attempts over 1.75 s (0.25 + 0.5 + 1), then
// the command fails naming the server. Watches retry for as long as their
// context lasts instead.
var Budget = wait.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Steps: 4}

// BudgetText says the budget in words, for error messages.
func BudgetText() string {
	var total time.Duration
	b := Budget
	for b.Steps > 1 {
		total += b.Step()
	}
	return fmt.Sprintf("%d attempts over %s", Budget.Steps, total)
}

// Retry runs fn until it succeeds, fails with an error transient does not
// accept, the budget is spent, or ctx ends, and returns fn's last error.
func Retry(ctx context.Context, transient func(error) bool, fn func(context.Context) error) error {
	var last error
	err := wait.ExponentialBackoffWithContext(ctx, Budget, func(ctx context.Context) (bool, error) {
		last = fn(ctx)
		return last == nil || !transient(last), nil
	})
	if last == nil && err != nil {
		return err // ctx ended before the first attempt
	}
	return last
}

// Cause is why a request never got an answer.
type Cause int

const (
	NoCause Cause = iota // not a transport error: the server answered
	TLS                  // handshake or certificate failure: retrying cannot help
	DNS                  // the host name does not resolve
	Refused              // nothing listens there (yet)
	Timeout              // no answer in time
	Reset                // the connection broke mid-request
	Network              // any other transport failure
)

var causeText = map[Cause]string{TLS: "TLS failure", DNS: "host name does not resolve", Refused: "connection refused",
	Timeout: "timed out", Reset: "connection reset", Network: "network error"}

func (c Cause) String() string { return causeText[c] }

// Transient reports whether another attempt may succeed: a server that is
// restarting refuses or resets connections; a bad certificate or an unknown
// host name stay so.
func (c Cause) Transient() bool {
	return c == Refused || c == Timeout || c == Reset || c == Network
}

// Classify finds the transport cause of err, NoCause when the server
// answered (or err is a context's own end).
func Classify(err error) Cause {
	if err == nil || err == context.Canceled || err == context.DeadlineExceeded {
		return NoCause // the caller's own context, not the server
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		invalid    x509.CertificateInvalidError
		hostname   x509.HostnameError
		verify     *tls.CertificateVerificationError
		record     tls.RecordHeaderError
		alert      tls.AlertError
		dnsErr     *net.DNSError
		netErr     net.Error
		urlErr     *url.Error
		opErr      *net.OpError
		systemRoot x509.SystemRootsError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostname), errors.As(err, &verify),
		errors.As(err, &record), errors.As(err, &alert), errors.As(err, &systemRoot),
		// net/http replaces the RecordHeaderError with its own text.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return TLS
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return DNS
		}
		return Network
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Reset
	case errors.As(err, &netErr) && netErr.Timeout():
		return Timeout
	case errors.As(err, &opErr), errors.As(err, &urlErr), errors.As(err, &netErr):
		return Network
	}
	return NoCause
}

// RootCause drops url.Error's "Get URL:" wrapping, which repeats the
// address and the query the message already names.
func RootCause(err error) error {
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			return err
		}
		err = ue.Err
	}
}

// Describe words a transport failure for the user: what could not be
// reached, why, and whether batchctl retried. server names it ("the
// Kubernetes API server https://10.0.0.1:6443").
func Describe(server string, cause Cause, err error) string {
	switch cause {
	case TLS:
		return fmt.Sprintf("TLS handshake with %s failed (not retried): %v", server, RootCause(err))
	case DNS:
		return fmt.Sprintf("cannot reach %s: host name does not resolve (not retried): %v", server, RootCause(err))
	}
	return fmt.Sprintf("cannot reach %s: %s (gave up after %s): %v", server, cause, BudgetText(), RootCause(err))
}
