package k8s

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// requestCounter counts API requests by verb and resource, printed at Close
// with k8s.trace: `make bench` uses it to show that status is O(1) and wait
// is one watch, not a polling loop.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// wrap is a client-go transport wrapper (rest.Config.Wrap) that counts.
func (c *requestCounter) wrap(next http.RoundTripper) http.RoundTripper {
	return countingTransport{c, next}
}

type countingTransport struct {
	c    *requestCounter
	next http.RoundTripper
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	verb := r.Method
	if r.URL.Query().Get("watch") == "true" {
		verb = "WATCH"
	}
	t.c.mu.Lock()
	t.c.counts[verb+" "+resourceOf(r.URL.Path)]++
	t.c.mu.Unlock()
	return t.next.RoundTrip(r)
}

// resourceOf reduces /apis/batch/v1/namespaces/ns/jobs/name to "jobs".
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		switch parts[i] {
		case "jobs", "pods", "events", "log":
			return parts[i]
		}
	}
	return path
}

func (c *requestCounter) report(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.counts))
	total := 0
	for k, n := range c.counts {
		keys = append(keys, fmt.Sprintf("%s=%d", k, n))
		total += n
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "k8s: %d API requests: %s\n", total, strings.Join(keys, ", "))
}
