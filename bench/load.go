//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// benchLocalLoad measures the local backend under load (issue 9): many
// submits at once, a fan-out of 1 000 and 10 000 completions, and list and
// status with 1 000 and 10 000 jobs in the state directory, each at both
// sizes so that how its cost grows is shown, not assumed.
func benchLocalLoad(bin string) error {
	if err := benchConcurrentSubmits(bin, 200); err != nil {
		return err
	}
	if err := benchFanoutGrowth(bin, []int{1000, 10000}, 32); err != nil {
		return err
	}
	return benchStateGrowth(bin, []int{1000, 10000})
}

// note prints a measurement without a target: the row's columns, and what
// the two sides are.
func note(what string, a, b float64, unit, about string) {
	fmt.Printf("%-34s %10.2f%s %10.2f%s %7.2fx  %s\n", what, a, unit, b, unit, a/b, about)
}

// localEnv is the environment of a local-backend run on its own state
// directory.
func localEnv(state string) []string {
	return append(os.Environ(), "BATCHCTL_LOCAL_STATE_DIR="+state, "BATCHCTL_BACKEND=local")
}

const trueJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  labels: {bench: %s}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: none
          command: ["true"]
`

// benchConcurrentSubmits starts n `batchctl submit` processes at once on
// one state directory and counts their exit codes: every one must be
// accepted (exit 0). Each one's latency is from its start to its exit;
// next to it, the latency of one submit alone. Then every job must
// succeed (`wait -l`).
func benchConcurrentSubmits(bin string, n int) error {
	work, err := os.MkdirTemp("", "batchctl-bench-submits-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env := localEnv(filepath.Join(work, "state"))
	manifest := filepath.Join(work, "job.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(trueJob, "load", "load")), 0o600); err != nil {
		return err
	}
	var alone []time.Duration
	for i := range 7 {
		s, err := measure(1, env, bin, "submit", "-q", "--name", fmt.Sprintf("alone-%d", i), manifest)
		if err != nil {
			return err
		}
		alone = append(alone, s.wall)
	}

	type result struct {
		took   time.Duration
		code   int
		stderr string
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "submit", "-q", "--name", fmt.Sprintf("load-%03d", i), manifest)
			cmd.Env = env
			var stderr strings.Builder
			cmd.Stderr = &stderr
			<-start
			t0 := time.Now()
			err := cmd.Run()
			r := result{took: time.Since(t0), stderr: stderr.String()}
			switch {
			case cmd.ProcessState != nil:
				r.code = cmd.ProcessState.ExitCode()
			case err != nil:
				r.code, r.stderr = -1, err.Error()
			}
			results[i] = r
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)

	codes := map[int]int{}
	var took []time.Duration
	firstErr := ""
	for _, r := range results {
		codes[r.code]++
		took = append(took, r.took)
		if r.code != 0 && firstErr == "" {
			firstErr = strings.TrimSpace(r.stderr)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	verdict := "meets"
	if codes[0] != n {
		verdict = "MISSES"
	}
	fmt.Printf("local: %d concurrent submits: %d/%d accepted (exit codes %v; target all)  %s; all returned in %.2fs (one after another: ~%.2fs)\n",
		n, codes[0], n, codes, verdict, wall.Seconds(), float64(n)*median(alone).Seconds())
	if firstErr != "" {
		fmt.Printf("  first refusal: %s\n", firstErr)
	}
	note(fmt.Sprintf("local submit p50, %d at once", n), ms(percentile(took, 0.50)), ms(median(alone)), "ms", "vs one submit alone (median of 7)")
	note(fmt.Sprintf("local submit p99, %d at once", n), ms(percentile(took, 0.99)), ms(median(alone)), "ms", "vs one submit alone")
	// Accepted is not enough: every job must run to its end.
	if codes[0] == n {
		if out, err := run(env, bin, "wait", "-l", "bench=load", "--timeout", "5m"); err != nil {
			return fmt.Errorf("the %d concurrently submitted jobs did not all succeed: %v\n%s", n, err, out)
		}
	}
	return nil
}

// percentile is the nearest-rank percentile of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[max(i, 0)]
}

// benchFanoutGrowth runs completions × `true` at parallelism par as one
// Job (`submit --wait`, state and logs durable) against
// `seq N | xargs -Ppar -n1 true`, at each size, and the job supervisor's
// peak RSS (VmHWM) and CPU time, sampled from /proc every 10 ms while it
// runs. Its CPU time, unlike wall time, hardly depends on what else the
// machine runs, so it shows how the supervisor's own cost grows.
func benchFanoutGrowth(bin string, sizes []int, par int) error {
	type figure struct {
		n           int
		ours, xargs time.Duration
		sup         supervisorUse
	}
	var figs []figure
	for _, n := range sizes {
		// Alternated, so that a busy moment of the machine costs both the
		// same; three times at the smaller size (medians), once at 10 000.
		runs := 1
		if n <= 1000 {
			runs = 3
		}
		var ours, xargs []time.Duration
		var sups []supervisorUse
		for range runs {
			wall, sup, err := fanoutOnce(bin, n, par)
			if err != nil {
				return err
			}
			ours, sups = append(ours, wall), append(sups, sup)
			x, err := measure(1, os.Environ(), "sh", "-c", fmt.Sprintf("seq %d | xargs -P%d -n1 true", n, par))
			if err != nil {
				return err
			}
			xargs = append(xargs, x.wall)
		}
		sort.Slice(sups, func(i, j int) bool { return sups[i].user+sups[i].sys < sups[j].user+sups[j].sys })
		f := figure{n, median(ours), median(xargs), sups[len(sups)/2]}
		figs = append(figs, f)
		fmt.Println(row{what: fmt.Sprintf("local %d x true -P%d (vs xargs)", n, par), a: ms(f.ours), b: ms(f.xargs), target: 1.5, unit: "ms"})
	}
	for _, f := range figs {
		fmt.Printf("  supervisor at %d completions: peak RSS %.1f MiB, CPU %.2fs (user %.2fs, system %.2fs)\n",
			f.n, float64(f.sup.hwm)/1024, (f.sup.user + f.sup.sys).Seconds(), f.sup.user.Seconds(), f.sup.sys.Seconds())
	}
	if len(figs) == 2 {
		a, b := figs[0], figs[1]
		fmt.Printf("  %d -> %d completions: batchctl wall x%.2f, xargs wall x%.2f; supervisor peak RSS x%.2f, CPU x%.2f\n",
			a.n, b.n, b.ours.Seconds()/a.ours.Seconds(), b.xargs.Seconds()/a.xargs.Seconds(),
			float64(b.sup.hwm)/float64(a.sup.hwm), (b.sup.user+b.sup.sys).Seconds()/(a.sup.user+a.sup.sys).Seconds())
	}
	return nil
}

// fanoutOnce runs one fan-out job on a state directory of its own and
// returns its `submit --wait` wall time and what its supervisor used.
func fanoutOnce(bin string, n, par int) (time.Duration, supervisorUse, error) {
	work, err := os.MkdirTemp("", "batchctl-bench-fanout-")
	if err != nil {
		return 0, supervisorUse{}, err
	}
	defer os.RemoveAll(work)
	state := filepath.Join(work, "state")
	env := localEnv(state)
	manifest := filepath.Join(work, "fanout.yaml")
	spec := strings.Replace(fmt.Sprintf(fanout, n), "parallelism: 8", fmt.Sprintf("parallelism: %d", par), 1)
	if err := os.WriteFile(manifest, []byte(spec), 0o600); err != nil {
		return 0, supervisorUse{}, err
	}
	use := sampleSupervisor(state)
	ours, err := measure(1, env, bin, "submit", "--wait", "-q", manifest)
	if err != nil {
		return 0, supervisorUse{}, err
	}
	sup, err := use()
	if err != nil {
		return 0, supervisorUse{}, err
	}
	return ours.wall, sup, checkFanout(bin, env, n)
}

// supervisorUse is what a job's supervisor used, as last sampled.
type supervisorUse struct {
	hwm       int64 // peak RSS, KiB
	user, sys time.Duration
}

// sampleSupervisor finds the supervisor of the one job that is about to be
// submitted to state (its pid file, jobs/<uid>/supervisor: "pid
// starttime") and samples its VmHWM and CPU time until it exits. The
// returned function waits for that and returns the last sample: both only
// grow (the CPU time of its last 10 ms is missed).
func sampleSupervisor(state string) func() (supervisorUse, error) {
	type answer struct {
		use supervisorUse
		err error
	}
	done := make(chan answer, 1)
	stop := make(chan struct{})
	go func() {
		var pid int
		var start string
		for pid == 0 {
			files, _ := filepath.Glob(filepath.Join(state, "jobs", "*", "supervisor"))
			if len(files) > 0 {
				if f := strings.Fields(readString(files[0])); len(f) == 2 {
					pid, _ = strconv.Atoi(f[0])
					start = f[1]
				}
			}
			if pid == 0 {
				select {
				case <-stop:
					done <- answer{err: fmt.Errorf("no supervisor pid file appeared under %s", state)}
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}
		proc := fmt.Sprintf("/proc/%d/", pid)
		// The recorded start time tells the supervisor from a later
		// process given the same pid.
		if st := strings.Fields(readString(proc + "stat")); len(st) < 22 || st[21] != start {
			done <- answer{err: fmt.Errorf("supervisor pid %d had exited before it could be sampled", pid)}
			return
		}
		var use supervisorUse
		for {
			b, err := os.ReadFile(proc + "status")
			if err != nil {
				break // exited
			}
			if strings.Contains(string(b), "\nState:\tZ") {
				break // a zombie: exited, not reaped yet; its figures are gone
			}
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
					use.hwm, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				}
			}
			// utime and stime, fields 14 and 15, in clock ticks (USER_HZ:
			// 100 on Linux).
			if st := strings.Fields(readString(proc + "stat")); len(st) >= 15 {
				u, _ := strconv.ParseInt(st[13], 10, 64)
				s, _ := strconv.ParseInt(st[14], 10, 64)
				use.user, use.sys = time.Duration(u)*10*time.Millisecond, time.Duration(s)*10*time.Millisecond
			}
			select { // the sampling period, not synchronisation
			case <-stop:
				done <- answer{use: use, err: fmt.Errorf("supervisor pid %d still runs a minute after its job ended", pid)}
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		done <- answer{use: use}
	}()
	return func() (supervisorUse, error) {
		select {
		case a := <-done:
			return a.use, a.err
		case <-time.After(time.Minute):
			close(stop)
			a := <-done
			return a.use, a.err
		}
	}
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// benchStateGrowth measures `list` and `status` with 1 000 and 10 000
// finished jobs in the state directory: one state directory of each size,
// measured alternately, so that a busy moment of the machine costs both
// the same. In each, one job is submitted and run to its end; the others
// are copies of its directory with the uid and name rewritten (jobs/<uid>/,
// names/default/<name>; see backends/local/store.go), because 10 000 real
// submits take minutes here (a supervisor process each) and what list and
// status read — the name's claim and the job's state — is the same. `list`
// must then report every copy, without a warning.
func benchStateGrowth(bin string, sizes []int) error {
	const seed = "bench-seed"
	envs := make([][]string, len(sizes))
	for i, n := range sizes {
		work, err := os.MkdirTemp("", "batchctl-bench-state-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		t0 := time.Now()
		if envs[i], err = stateWithJobs(bin, work, seed, n); err != nil {
			return err
		}
		fmt.Printf("  state directory with %d finished jobs made in %.1fs\n", n, time.Since(t0).Seconds())
	}
	const rounds = 7 // of 1 list and 3 status calls per size
	lists := make([][]time.Duration, len(sizes))
	statuses := make([][]time.Duration, len(sizes))
	for range rounds {
		for i, env := range envs {
			l, err := measure(1, env, bin, "list")
			if err != nil {
				return err
			}
			lists[i] = append(lists[i], l.wall)
			for range 3 {
				st, err := measure(1, env, bin, "status", seed)
				if err != nil {
					return err
				}
				statuses[i] = append(statuses[i], st.wall)
			}
		}
	}
	lo, hi := 0, len(sizes)-1
	for i, n := range sizes {
		fmt.Printf("  %d jobs: list %.1f ms (median of %d), status %.1f ms (median of %d)\n",
			n, ms(median(lists[i])), len(lists[i]), ms(median(statuses[i])), len(statuses[i]))
	}
	grow := float64(sizes[hi]) / float64(sizes[lo])
	fmt.Println(row{what: fmt.Sprintf("local list, %d vs %d jobs", sizes[hi], sizes[lo]), a: ms(median(lists[hi])), b: ms(median(lists[lo])), target: grow, unit: "ms"})
	fmt.Println(row{what: fmt.Sprintf("local status, %d vs %d jobs", sizes[hi], sizes[lo]), a: ms(median(statuses[hi])), b: ms(median(statuses[lo])), target: 1.5, unit: "ms"})
	fmt.Printf("  (targets: list linear or better, x%.0f; status flat, within noise)\n", grow)
	return nil
}

// stateWithJobs makes a state directory in work holding n finished jobs:
// seed, run for real, and n-1 copies of it. It returns the environment
// that uses it.
func stateWithJobs(bin, work, seed string, n int) ([]string, error) {
	state := filepath.Join(work, "state")
	env := localEnv(state)
	manifest := filepath.Join(work, "seed.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(trueJob, seed, "state")), 0o600); err != nil {
		return nil, err
	}
	if _, err := run(env, bin, "submit", "--wait", "-q", manifest); err != nil {
		return nil, err
	}
	out, err := output(env, bin, "status", "-o", "json", seed)
	if err != nil {
		return nil, err
	}
	var st struct{ UID string }
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.UID) != 36 {
		return nil, fmt.Errorf("status of the seed job: no uid in %q (%v)", out, err)
	}
	for i := 1; i < n; i++ {
		if err := cloneJob(state, st.UID, seed, i); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin, "list", "-o", "name")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	names, err := cmd.Output()
	if err != nil || stderr.Len() > 0 || bytes.Count(names, []byte("\n")) != n {
		return nil, fmt.Errorf("list of %d jobs: %v, %d lines, stderr %q", n, err, bytes.Count(names, []byte("\n")), stderr.String())
	}
	if _, err := run(env, bin, "status", cloneName(seed, n-1)); err != nil {
		return nil, err
	}
	return env, nil
}

func cloneName(seed string, i int) string { return fmt.Sprintf("%s-%05d", seed, i) }

// cloneJob copies the seed job's directory as job i: a uid of its own (the
// seed's with the last 12 hex digits replaced by i) and the name
// cloneName(seed, i), everywhere the files say them, then claims the name.
// Nothing is fsynced: this is set-up, not what is measured.
func cloneJob(state, uid, seed string, i int) error {
	newUID := fmt.Sprintf("%s%012x", uid[:24], i)
	name := cloneName(seed, i)
	src, dst := filepath.Join(state, "jobs", uid), filepath.Join(state, "jobs", newUID)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, strings.ReplaceAll(rel, seed, name))
		if d.IsDir() {
			return os.Mkdir(target, 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Text records name the job; the outcome file is checksummed and
		// names neither.
		if strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".jsonl") {
			b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte(uid), []byte(newUID)), []byte(seed), []byte(name))
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(state, "names", "default", name), []byte(newUID+"\n"), 0o600)
}
