package k8s

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// The clients pace requests at 50 a second after a burst of 100, not
// client-go's 5 after 10: a command making a hundred requests does not
// wait on its own limiter (with the default, these took 18 s). A QPS the
// config sets is kept.
func TestClientsPace(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}`)
	}))
	defer srv.Close()
	c, err := newClients(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for name, rc := range map[string]rest.Interface{"core": c.core, "batch": c.batch} {
		if l := rc.GetRateLimiter(); l == nil || l.QPS() != defaultQPS {
			t.Errorf("%s client: rate limiter %v, want %d a second", name, l, defaultQPS)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	for i := 0; i < defaultBurst; i++ {
		if _, err := c.listPods(ctx, "default", metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%d requests took %s: throttled by the client", defaultBurst, d)
	}

	own, err := newClients(&rest.Config{Host: srv.URL, QPS: 7, Burst: 9})
	if err != nil {
		t.Fatal(err)
	}
	if l := own.core.GetRateLimiter(); l == nil || l.QPS() != 7 {
		t.Errorf("a config's own QPS: rate limiter %v, want 7 a second", l)
	}
}
