package nomad_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/nomad"
	"github.com/batchctl/batchctl/config"
)

// fakeNomad answers every request with status and body, counting them and
// recording the token they carried.
func fakeNomad(t *testing.T, status int, body string) (addr string, requests *atomic.Int32, token *atomic.Value) {
	requests, token = &atomic.Int32{}, &atomic.Value{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		token.Store(r.Header.Get("X-Nomad-Token"))
		http.Error(w, body, status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, requests, token
}

func backendFor(t *testing.T, addr, token string) backends.Backend {
	t.Helper()
	b, err := nomad.Open(nomad.Options{Addr: addr, Token: config.Secret(token)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPermissionDenied(t *testing.T) {
	addr, requests, token := fakeNomad(t, http.StatusForbidden, "Permission denied")
	b := backendFor(t, addr, "s3cret-token")
	_, err := b.Status(context.Background(), backends.Ref{Name: "x"})
	if !errors.Is(err, backends.ErrUnavailable) || !strings.Contains(err.Error(), "permission denied by Nomad at "+addr) {
		t.Fatalf("error %v, want unavailable: permission denied naming %s", err, addr)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows the token: %v", err)
	}
	if got := token.Load(); got != "s3cret-token" || requests.Load() != 1 {
		t.Errorf("%d requests with token %q, want one (a refusal is not retried) with the token", requests.Load(), got)
	}
}

func TestLeaderlessIsRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 1.75 s retry budget")
	}
	addr, requests, _ := fakeNomad(t, http.StatusInternalServerError, "No cluster leader")
	b := backendFor(t, addr, "")
	err := b.Delete(context.Background(), backends.Ref{Name: "x"})
	if !errors.Is(err, backends.ErrUnavailable) || !strings.Contains(err.Error(), "No cluster leader") {
		t.Fatalf("error %v, want unavailable in Nomad's words", err)
	}
	if n := requests.Load(); n != 4 {
		t.Errorf("%d requests, want 4 (the stated retry budget)", n)
	}
}
