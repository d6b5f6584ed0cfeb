//go:build linux

// Command bench measures batchctl side by side with the tools a user would
// otherwise reach for, in one run, and prints ratios against targets.
// Run it with `make bench`; it is not a test and asserts nothing.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// sample is one measured run of a command.
type sample struct {
	wall time.Duration
	cpu  time.Duration
	rss  int64 // peak resident set, KiB
}

// measure runs argv n times and returns the median wall time and CPU and the
// largest peak RSS. Output is discarded; a failing run aborts the benchmark.
func measure(n int, env []string, argv ...string) (sample, error) {
	var walls, cpus []time.Duration
	var rss int64
	for i := 0; i < n; i++ {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return sample{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
		}
		walls = append(walls, time.Since(start))
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpus = append(cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		if ru.Maxrss > rss {
			rss = ru.Maxrss
		}
	}
	return sample{wall: median(walls), cpu: median(cpus), rss: rss}, nil
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

type row struct {
	what, ours, theirs string
	a, b               float64
	target             float64
	unit               string
}

func (r row) String() string {
	ratio := r.a / r.b
	verdict := "meets"
	if ratio > r.target {
		verdict = "MISSES"
	}
	return fmt.Sprintf("%-34s %10.2f%s %10.2f%s %7.2fx  target <= %.2fx  %s",
		r.what, r.a, r.unit, r.b, r.unit, ratio, r.target, verdict)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func main() {
	batchctl := flag.String("batchctl", "bin/batchctl", "batchctl binary to measure")
	runs := flag.Int("runs", 21, "runs per startup measurement (median reported)")
	completions := flag.Int("completions", 1000, "completions of `true` in the local benchmark")
	only := flag.String("only", "", "comma-separated sections to run: startup, local, load, k8s, nomad, docker (default all)")
	flag.Parse()
	want := func(section string) bool {
		return *only == "" || slices.Contains(strings.Split(*only, ","), section)
	}
	bin, err := filepath.Abs(*batchctl)
	if err != nil {
		fail(err)
	}
	fmt.Printf("%-34s %12s %12s %8s\n", "benchmark", "batchctl", "other", "ratio")

	// 1. Start-up: the cost of every invocation in a shell pipeline.
	if want("startup") {
		benchStartup(bin, *runs)
	}

	// 2. Local fan-out: 1000 × `true` at parallelism 8, state and logs durable.
	if want("local") {
		benchLocalFanout(bin, *completions)
	}

	// 3. The local backend under load: concurrent submits, 10 000
	// completions, 10 000 jobs in the state directory.
	if want("load") {
		if err := benchLocalLoad(bin); err != nil {
			fail(err)
		}
	}

	// 4. Real platforms, when make bench has built them; Docker, when make
	// test installed it.
	if want("k8s") {
		if err := benchK8s(bin, 5); err != nil {
			fail(err)
		}
	}
	if want("nomad") {
		if err := benchNomad(bin); err != nil {
			fail(err)
		}
	}
	if want("docker") {
		if err := benchDocker(bin); err != nil {
			fail(err)
		}
	}
}

// benchStartup compares the start-up of batchctl with kubectl's (client only).
func benchStartup(bin string, runs int) {
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		ours, err := measure(runs, os.Environ(), bin, "version")
		if err != nil {
			fail(err)
		}
		theirs, err := measure(runs, os.Environ(), kubectl, "version", "--client")
		if err != nil {
			fail(err)
		}
		fmt.Println(row{what: "startup wall (vs kubectl --client)", a: ms(ours.wall), b: ms(theirs.wall), target: 0.25, unit: "ms"})
		fmt.Println(row{what: "startup peak RSS (vs kubectl)", a: float64(ours.rss) / 1024, b: float64(theirs.rss) / 1024, target: 0.5, unit: "M "})
	} else {
		fmt.Println("startup: kubectl not installed; skipped")
	}
}

// benchLocalFanout: completions × `true` at parallelism 8, state and logs
// durable, against xargs and GNU parallel.
func benchLocalFanout(bin string, completions int) {
	state, err := os.MkdirTemp("", "batchctl-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(state)
	manifest := filepath.Join(state, "fanout.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(fanout, completions)), 0o600); err != nil {
		fail(err)
	}
	env := append(os.Environ(), "BATCHCTL_LOCAL_STATE_DIR="+filepath.Join(state, "state"), "BATCHCTL_BACKEND=local")
	ours, err := measure(1, env, bin, "submit", "--wait", "-q", manifest)
	if err != nil {
		fail(err)
	}
	if err := checkFanout(bin, env, completions); err != nil {
		fail(err)
	}
	seq := fmt.Sprintf("seq %d", completions)
	xargs, err := measure(1, os.Environ(), "sh", "-c", seq+" | xargs -P8 -n1 true")
	if err != nil {
		fail(err)
	}
	what := fmt.Sprintf("local %d x true -P8 (vs xargs)", completions)
	fmt.Println(row{what: what, a: ms(ours.wall), b: ms(xargs.wall), target: 1.5, unit: "ms"})
	if _, err := exec.LookPath("parallel"); err == nil {
		par, err := measure(1, os.Environ(), "sh", "-c", seq+" | parallel -j8 true")
		if err != nil {
			fail(err)
		}
		fmt.Println(row{what: fmt.Sprintf("local %d x true -j8 (vs parallel)", completions), a: ms(ours.wall), b: ms(par.wall), target: 1.5, unit: "ms"})
	} else {
		fmt.Println("GNU parallel not installed; skipped")
	}
}

// checkFanout proves the measured run really did the work and kept it: every
// completion recorded as succeeded, readable by a separate process.
func checkFanout(bin string, env []string, completions int) error {
	cmd := exec.Command(bin, "status", "fanout", "-o", "json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("status after the benchmark: %v", err)
	}
	want := fmt.Sprintf(`"succeeded": %d,`, completions)
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), `"phase": "Succeeded"`) {
		return fmt.Errorf("benchmark job did not succeed %d times:\n%s", completions, out)
	}
	return nil
}

const fanout = `apiVersion: batch/v1
kind: Job
metadata:
  name: fanout
spec:
  completions: %d
  parallelism: 8
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: none
          command: ["true"]
`

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
