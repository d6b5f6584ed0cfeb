//go:build linux

package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batchctl/batchctl/e2e/kube"
)

// waitSizes are the numbers of jobs `wait` is measured on: what a wait of
// many jobs costs must not grow with them.
var waitSizes = []int{10, 100}

// counted prints a request count against another tool's.
func counted(what string, ours, theirs int, about string) {
	fmt.Printf("%-34s %8d req %8d req %7.2fx  %s\n", what, ours, theirs, float64(ours)/float64(theirs), about)
}

// waitGrowth prints how the requests of a wait grow from the fewest jobs
// to the most: O(1) is a growth of about 1x (target 1.5x: a few more
// change rounds), where one watch or poll per job grows with the jobs.
func waitGrowth(platform, other string, ours, theirs map[int]int) {
	lo, hi := waitSizes[0], waitSizes[len(waitSizes)-1]
	fmt.Println(row{what: fmt.Sprintf("%s wait requests, %d vs %d jobs", platform, hi, lo), a: float64(ours[hi]), b: float64(ours[lo]), target: 1.5, unit: "  "})
	fmt.Printf("  %s: %d -> %d requests (x%.2f)\n", other, theirs[lo], theirs[hi], float64(theirs[hi])/float64(theirs[lo]))
}

// manyJobs is a manifest of n Jobs (one file, `---`-separated) labelled
// bench=label, each one pod, from the template tmpl (%s: its name and
// label).
func manyJobs(n int, label, tmpl string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, tmpl, fmt.Sprintf("%s-%03d", label, i), label)
	}
	return b.String()
}

// k8sWaitJob runs for 10 s on the kwok node (its simulated kubelet obeys
// the annotation), so that both waits watch the jobs change.
const k8sWaitJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  labels: {bench: %s}
spec:
  template:
    metadata:
      annotations: {batchctl.dev/intended-duration: 10s}
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
          command: ["true"]
`

// benchK8sWait: `batchctl wait -l` of 10 and of 100 jobs against
// `kubectl wait --for=condition=complete -l` of the same jobs at the same
// time, counting the API requests each makes (batchctl: k8s.trace;
// kubectl: its -v=6 request log).
func benchK8sWait(bin, kubectl string, env []string, work string, node kube.NodeKind) error {
	if node == kube.NodeKubelet {
		fmt.Println("k8s wait of many jobs: needs the kwok node (BATCHCTL_K8S_NODE=both or kwok); skipped")
		return nil
	}
	tmpl := k8sWaitJob
	if node == kube.NodeBoth {
		tmpl = strings.Replace(tmpl, "    spec:\n", "    spec:\n"+onKwok, 1)
	}
	ourCounts, theirCounts := map[int]int{}, map[int]int{}
	for _, n := range waitSizes {
		label := fmt.Sprintf("wait%d", n)
		manifest := filepath.Join(work, label+".yaml")
		if err := os.WriteFile(manifest, []byte(manyJobs(n, label, tmpl)), 0o600); err != nil {
			return err
		}
		if _, err := run(env, bin, "submit", "-q", "--backend", "k8s", manifest); err != nil {
			return err
		}
		var ours, theirs string
		var oursErr, theirsErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			ours, oursErr = run(append(env, "BATCHCTL_K8S_TRACE=1"), bin, "wait", "--backend", "k8s", "-l", "bench="+label, "--timeout", "3m")
		}()
		go func() {
			defer wg.Done()
			theirs, theirsErr = run(env, kubectl, "wait", "--for=condition=complete", "-l", "bench="+label, "job", "--timeout=180s", "-v=6")
		}()
		wg.Wait()
		if oursErr != nil {
			return oursErr
		}
		if theirsErr != nil {
			return theirsErr
		}
		m := regexp.MustCompile(`k8s: (\d+) API requests: (.*)`).FindStringSubmatch(ours)
		if m == nil {
			return fmt.Errorf("batchctl wait printed no request count:\n%s", ours)
		}
		total, _ := strconv.Atoi(m[1])
		kreq := kubectlRequests(theirs)
		ourCounts[n], theirCounts[n] = total, kreq
		counted(fmt.Sprintf("k8s wait, %d jobs, requests", n), total, kreq, "vs kubectl wait -l, same jobs, same time")
		fmt.Printf("  batchctl: %s; kubectl: %d requests logged at -v=6\n", m[2], kreq)
	}
	waitGrowth("k8s", "kubectl wait", ourCounts, theirCounts)
	return nil
}

// kubectlRequests counts the API requests in kubectl's -v=6 log, in either
// of klog's formats: `GET https://… 200 OK in 3 milliseconds` (text) or
// `"Response" verb="GET" url="https://…"` (structured, kubectl 1.30+).
func kubectlRequests(log string) int {
	n := 0
	text := regexp.MustCompile(`\] (GET|POST|PUT|PATCH|DELETE) https?://`)
	for _, l := range strings.Split(log, "\n") {
		if text.MatchString(l) || (strings.Contains(l, `"Response"`) && strings.Contains(l, `verb="`)) {
			n++
		}
	}
	return n
}

// countingProxy forwards HTTP to a Nomad agent and counts the requests by
// path: batchctl has no request trace of its own on nomad.
type countingProxy struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
}

func newCountingProxy(target string) (*countingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &countingProxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1                    // blocking queries and streams pass as they come
	rp.ErrorLog = log.New(io.Discard, "", 0) // a client giving up on a long poll is no news
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[r.URL.Path]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

// snapshot returns the counts so far, by kind of request: the jobs and
// allocations lists, a job's definition, a job's allocations, and others
// (summary, evaluations, …).
func (p *countingProxy) snapshot() (total int, kinds map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kinds = map[string]int{}
	for path, n := range p.counts {
		total += n
		k := "other"
		switch parts := strings.Split(strings.Trim(path, "/"), "/"); {
		case path == "/v1/jobs":
			k = "jobs list"
		case path == "/v1/allocations":
			k = "allocations list"
		case len(parts) == 3 && parts[1] == "job":
			k = "job"
		case len(parts) == 4 && parts[1] == "job":
			k = "job " + parts[3]
		}
		kinds[k] += n
	}
	return total, kinds
}

func kindsString(kinds map[string]int) string {
	var out []string
	for k, n := range kinds {
		out = append(out, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// nomadWaitJob sleeps 10 s, so that both waits watch the jobs change.
const nomadWaitJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  labels: {bench: %s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: none
          command: ["/bin/sleep", "10"]
`

// nomadPollLoop is what a Nomad user scripts to wait for many batch jobs
// (nomad job run has no wait: hashicorp/nomad#11601): `nomad job status`
// of each job not yet dead, every second, printing one line per round.
const nomadPollLoop = `left="$*"
while [ -n "$left" ]; do
  echo round
  next=""
  for j in $left; do
    nomad job status "$j" | grep -q '^Status *= dead' || next="$next $j"
  done
  left=$next
  [ -n "$left" ] && sleep 1
done
exit 0
`

// benchNomadWait: `batchctl wait -l` of 10 and of 100 jobs against a
// `nomad job status` loop over the same jobs at the same time, each
// through a counting proxy of its own.
func benchNomadWait(bin, nomad, addr string, env []string, work string) error {
	ourCounts, theirCounts := map[int]int{}, map[int]int{}
	for _, n := range waitSizes {
		label := fmt.Sprintf("wait%d", n)
		manifest := filepath.Join(work, label+".yaml")
		if err := os.WriteFile(manifest, []byte(manyJobs(n, label, nomadWaitJob)), 0o600); err != nil {
			return err
		}
		if _, err := run(env, bin, "submit", "-q", manifest); err != nil {
			return err
		}
		ourProxy, err := newCountingProxy(addr)
		if err != nil {
			return err
		}
		defer ourProxy.Close()
		theirProxy, err := newCountingProxy(addr)
		if err != nil {
			return err
		}
		defer theirProxy.Close()
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("%s-%03d", label, i)
		}
		var ours, theirs string
		var oursErr, theirsErr error
		var oursTook, theirsTook time.Duration
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			ours, oursErr = run(withNomadAddr(env, ourProxy.URL), bin, "wait", "-l", "bench="+label, "--timeout", "3m")
			oursTook = time.Since(t0)
		}()
		go func() {
			defer wg.Done()
			t0 := time.Now()
			loopEnv := append(withNomadAddr(env, theirProxy.URL), "PATH="+filepath.Dir(nomad)+":"+os.Getenv("PATH"))
			theirs, theirsErr = output(loopEnv, append([]string{"sh", "-c", nomadPollLoop, "sh"}, names...)...)
			theirsTook = time.Since(t0)
		}()
		wg.Wait()
		if oursErr != nil {
			return oursErr
		}
		if theirsErr != nil {
			return theirsErr
		}
		if strings.Count(ours, "succeeded") != n {
			return fmt.Errorf("batchctl wait did not report %d jobs succeeded:\n%s", n, ours)
		}
		ourTotal, ourKinds := ourProxy.snapshot()
		theirTotal, _ := theirProxy.snapshot()
		rounds := strings.Count(theirs, "round")

		// What one `nomad job status` costs, for the formula.
		one, err := newCountingProxy(addr)
		if err != nil {
			return err
		}
		defer one.Close()
		if _, err := run(withNomadAddr(env, one.URL), nomad, "job", "status", names[0]); err != nil {
			return err
		}
		per, perKinds := one.snapshot()

		ourCounts[n], theirCounts[n] = ourTotal, theirTotal
		counted(fmt.Sprintf("nomad wait, %d jobs, requests", n), ourTotal, theirTotal, "vs a `nomad job status` loop, same jobs, same time")
		// wait resolves the selection from WatchList's first report (no
		// List first): each job's definition is read once, then the two
		// lists once per change.
		fmt.Printf("  batchctl in %.1fs: %d definitions, %d jobs lists, %d allocations lists, %d other\n",
			oursTook.Seconds(), ourKinds["job"], ourKinds["jobs list"], ourKinds["allocations list"],
			ourTotal-ourKinds["job"]-ourKinds["jobs list"]-ourKinds["allocations list"])
		fmt.Printf("  loop: %d rounds in %.1fs; one `nomad job status` = %d requests (%s)\n",
			rounds, theirsTook.Seconds(), per, kindsString(perKinds))
	}
	waitGrowth("nomad", "nomad job status loop", ourCounts, theirCounts)
	return nil
}

// withNomadAddr is env with NOMAD_ADDR replaced.
func withNomadAddr(env []string, addr string) []string {
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if !strings.HasPrefix(e, "NOMAD_ADDR=") {
			out = append(out, e)
		}
	}
	return append(out, "NOMAD_ADDR="+addr)
}
