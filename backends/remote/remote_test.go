package remote

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Causes are read off real failures, not constructed errors, where this
// machine can produce them.
func TestClassifyRealFailures(t *testing.T) {
	tlsServer := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsServer.Close()
	_, tlsErr := http.Get(tlsServer.URL) // the default client does not trust its certificate

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	_, refusedErr := http.Get(closed)

	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	_, httpToTLSErr := http.Get(strings.Replace(plain.URL, "http://", "https://", 1))

	_, dnsErr := http.Get("http://batchctl-test.invalid/") // .invalid never resolves (RFC 2606)
	_, schemeErr := http.Get("nomad://127.0.0.1:4646/")

	hang, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	_, timeoutErr := (&http.Client{Timeout: 50 * time.Millisecond}).Get("http://" + hang.Addr().String())

	for _, c := range []struct {
		name      string
		err       error
		want      Cause
		transient bool
	}{
		{"untrusted certificate", tlsErr, TLS, false},
		{"HTTP server spoken to in TLS", httpToTLSErr, TLS, false},
		{"nothing listening", refusedErr, Refused, true},
		{"no answer", timeoutErr, Timeout, true},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "nomad.invalid", IsNotFound: true}, DNS, false},
		{"unresolvable host", dnsErr, DNS, false},
		{"no such scheme", schemeErr, Address, false},
		{"stalled", &url.Error{Op: "Get", URL: "http://x", Err: &StallError{After: time.Second}}, Timeout, true},
		{"HTTP/2 health check", &url.Error{Op: "Get", URL: "http://x", Err: errors.New("http2: client connection lost")}, Reset, true},
		{"server answered", errors.New("the server said no"), NoCause, false},
		{"context", context.Canceled, NoCause, false},
	} {
		if c.err == nil {
			t.Fatalf("%s: the request did not fail", c.name)
		}
		if got := Classify(c.err); got != c.want || got.Transient() != c.transient {
			t.Errorf("%s: Classify(%v) = %v (transient %v), want %v (transient %v)", c.name, c.err, got, got.Transient(), c.want, c.transient)
		}
	}
	if msg := Describe("Nomad at x", TLS, tlsErr); !strings.Contains(msg, "TLS handshake with Nomad at x failed (not retried): ") || !strings.Contains(msg, "certificate") {
		t.Errorf("TLS message: %s", msg)
	}
	if msg := Describe("Nomad at x", Refused, refusedErr); !strings.Contains(msg, "cannot reach Nomad at x: connection refused (gave up after 4 attempts over 1.75s)") {
		t.Errorf("refused message: %s", msg)
	}
}

func TestRetryStopsAtPermanentErrors(t *testing.T) {
	calls := 0
	permanent := errors.New("permanent")
	err := Retry(context.Background(), func(error) bool { return false }, func(context.Context) error { calls++; return permanent })
	if err != permanent || calls != 1 {
		t.Errorf("permanent error: %v after %d calls, want 1", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = Retry(ctx, func(error) bool { return true }, func(context.Context) error {
		calls++
		cancel()
		return errors.New("transient")
	})
	if calls != 1 || err == nil || err.Error() != "transient" {
		t.Errorf("cancelled retry: %v after %d calls, want the last error after 1", err, calls)
	}
	calls = 0
	err = Retry(context.Background(), func(error) bool { return true }, func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("transient")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("recovering retry: %v after %d calls", err, calls)
	}
}

func TestBudgetText(t *testing.T) {
	if got := BudgetText(); got != "4 attempts over 1.75s" {
		t.Errorf("BudgetText = %q", got)
	}
}
