package remote

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A guard cuts a request whose server stays silent, and not one that keeps
// talking, however long it lasts.
func TestGuardCutsSilence(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/silent" {
			<-r.Context().Done()
			return
		}
		for range 6 { // talks for 6 × 50 ms, longer than the limit
			io.WriteString(w, "tick\n")
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	get := func(path string) (string, error) {
		g := NewGuard(context.Background(), 200*time.Millisecond)
		defer g.Stop()
		req, _ := http.NewRequestWithContext(g.Context(), "GET", "http://"+ln.Addr().String()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", g.Err(err)
		}
		defer resp.Body.Close()
		var out strings.Builder
		buf := make([]byte, 512)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				g.Alive()
				out.Write(buf[:n])
			}
			if err == io.EOF {
				return out.String(), nil
			}
			if err != nil {
				return out.String(), g.Err(err)
			}
		}
	}
	start := time.Now()
	_, err = get("/silent")
	var stalled *StallError
	if !errors.As(err, &stalled) || Classify(err) != Timeout || !Classify(err).Transient() {
		t.Errorf("silent server: %v (cause %v), want a transient *StallError", err, Classify(err))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the silence was cut after %v, want about 200ms", d)
	}
	if out, err := get("/talking"); err != nil || strings.Count(out, "tick") != 6 {
		t.Errorf("talking server: %q, %v; want six ticks and no error", out, err)
	}
}

func TestHTTP2HealthFollowsStallTimeout(t *testing.T) {
	defer func(d time.Duration) { StallTimeout = d }(StallTimeout)
	StallTimeout = 3 * time.Second
	tr := &http.Transport{HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 7}}
	HTTP2Health(tr)
	if tr.HTTP2.SendPingTimeout != 2*time.Second || tr.HTTP2.PingTimeout != time.Second || tr.HTTP2.MaxConcurrentStreams != 7 {
		t.Errorf("HTTP2 config %+v, want pings after 2s, answered within 1s, the rest kept", *tr.HTTP2)
	}
}

func TestDescribeStatus(t *testing.T) {
	for _, c := range []struct {
		code    int
		retried bool
		want    string
	}{
		{500, true, "S answered 500 Internal Server Error (gave up after 4 attempts over 1.75s): boom"},
		{500, false, "S answered 500 Internal Server Error: boom"},
		{503, true, "S answered 503 Service Unavailable (gave up after 4 attempts over 1.75s): boom"},
	} {
		if got := DescribeStatus("S", c.code, c.retried, " boom\n"); got != c.want {
			t.Errorf("DescribeStatus(%d, %v) = %q, want %q", c.code, c.retried, got, c.want)
		}
	}
	for code, want := range map[int]bool{429: true, 502: true, 503: true, 504: true, 500: false, 404: false, 403: false} {
		if TransientStatus(code) != want {
			t.Errorf("TransientStatus(%d) = %v", code, !want)
		}
	}
}
