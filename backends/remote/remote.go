// Package remote is what the backends that talk to a server share: one
// stated retry budget for transient failures; the classification of a
// failed request by its cause (TLS, DNS, refused, timeout, reset), so that
// a certificate problem is never retried and reported as "cannot reach";
// the wording of an HTTP status the server answered with; the detection of
// a connection that went silent (stall.go); and bounded log lines
// (lines.go). What an HTTP status means stays with each backend: it is the
// API's.
package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
	Address              // the address itself is unusable (no such scheme): retrying cannot help
)

var causeText = map[Cause]string{TLS: "TLS failure", DNS: "host name does not resolve", Refused: "connection refused",
	Timeout: "timed out", Reset: "connection reset", Network: "network error", Address: "unusable address"}

func (c Cause) String() string { return causeText[c] }

// Transient reports whether another attempt may succeed: a server that is
// restarting refuses or resets connections; a bad certificate or an unknown
// host name stay so.
func (c Cause) Transient() bool {
	return c == Refused || c == Timeout || c == Reset || c == Network
}

// Permanent reports whether err is a transport failure that no retry, however
// long, would cure: the loops that outlast a restarting server (watches,
// log followers) stop on it instead of retrying until their context ends.
func Permanent(err error) bool {
	c := Classify(err)
	return c != NoCause && !c.Transient()
}

// Classify finds the transport cause of err, NoCause when the server
// answered (or err is a context's own end). Only errors of the network or
// TLS stacks count: a *url.Error is merely the wrapping net/http puts
// around whatever failed, so its cause is what it wraps.
func Classify(err error) Cause {
	if err == nil || err == context.Canceled || err == context.DeadlineExceeded {
		return NoCause // the caller's own context, not the server
	}
	var stalled *StallError
	if errors.As(err, &stalled) {
		return Timeout
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
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, net.ErrClosed), lostConnection(err):
		return Reset
	case errors.As(err, &netErr) && netErr.Timeout():
		return Timeout
	case errors.As(err, &opErr):
		return Network
	case errors.As(err, &urlErr): // before net.Error, which *url.Error implements
		if msg := urlErr.Err.Error(); strings.Contains(msg, "unsupported protocol scheme") || strings.Contains(msg, "no Host in request URL") {
			return Address
		}
		return Network // net/http's own transport errors ("malformed HTTP response", ...)
	case errors.As(err, &netErr):
		return Network
	}
	return NoCause
}

// lostConnection: HTTP/2 gave up a connection (its health check went
// unanswered, or the server went away), with errors of its own that
// carry no type.
func lostConnection(err error) bool {
	msg := err.Error()
	for _, s := range []string{"http2: client connection lost", "http2: client conn is closed",
		"http2: server sent GOAWAY", "http2: Transport received Server's graceful shutdown GOAWAY"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
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
	case Address:
		return fmt.Sprintf("cannot reach %s: the address is not usable (not retried): %v", server, RootCause(err))
	}
	return fmt.Sprintf("cannot reach %s: %s (gave up after %s): %v", server, cause, BudgetText(), RootCause(err))
}

// TransientStatus reports whether an HTTP status says "try again": the
// server is overloaded, restarting, or a gateway in front of it could not
// reach it. Backends add what their API means by a 500.
func TransientStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// DescribeStatus words an HTTP status the server answered with, in its own
// words (msg), saying whether batchctl retried it.
func DescribeStatus(server string, code int, retried bool, msg string) string {
	s := fmt.Sprintf("%s answered %d %s", server, code, http.StatusText(code))
	if retried {
		s += fmt.Sprintf(" (gave up after %s)", BudgetText())
	}
	if msg = strings.TrimSpace(msg); msg != "" {
		s += ": " + msg
	}
	return s
}
