//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/batchctl/batchctl/e2e/nomadagent"
)

// nomadRuns is how many times each side runs; medians are reported.
const nomadRuns = 5

// benchNomad compares, on a real -dev agent, `batchctl submit --wait` of a
// count=3 raw_exec job of /bin/true with what a Nomad user scripts instead:
// `nomad job run -detach` and `nomad job status` every 0.1 s until the job
// is dead (nomad job run has no wait for batch jobs: hashicorp/nomad#11601).
func benchNomad(bin string) error {
	nomad := os.Getenv(nomadagent.EnvBinary)
	if nomad == "" {
		fmt.Println("nomad: agent not built (" + nomadagent.EnvBinary + "); skipped")
		return nil
	}
	work, err := os.MkdirTemp("", "batchctl-bench-nomad-")
	if err != nil {
		return err
	}
	a, err := nomadagent.Start(context.Background(), nomadagent.Options{Binary: nomad, WorkDir: filepath.Join(work, "agent")})
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Stop(); err == nil {
			_ = nomadagent.RemoveAllSafe(work)
		}
	}()
	env := append(os.Environ(), "NOMAD_ADDR="+a.Addr, "BATCHCTL_NOMAD_DRIVER=raw_exec", "BATCHCTL_BACKEND=nomad")
	manifest, hcl := filepath.Join(work, "job.yaml"), filepath.Join(work, "job.nomad.hcl")
	if err := os.WriteFile(manifest, []byte(nomadBenchJob), 0o600); err != nil {
		return err
	}
	var ours, theirs []sample
	for i := 0; i < nomadRuns; i++ {
		name := fmt.Sprintf("bench-b%d", i)
		s, err := measure(1, env, bin, "submit", "--wait", "-q", "--name", name, manifest)
		if err != nil {
			return err
		}
		ours = append(ours, s)
		if out, err := run(env, bin, "status", "-o", "json", name); err != nil || !strings.Contains(out, `"succeeded": 3,`) {
			return fmt.Errorf("batchctl's benchmark job did not succeed 3 times: %v\n%s", err, out)
		}

		id := fmt.Sprintf("bench-n%d", i)
		if err := os.WriteFile(hcl, []byte(fmt.Sprintf(nomadBenchHCL, id)), 0o600); err != nil {
			return err
		}
		script := fmt.Sprintf(`%[1]s job run -detach %[2]s >/dev/null || exit 1
until %[1]s job status %[3]s | grep -q '^Status *= dead'; do sleep 0.1; done`, nomad, hcl, id)
		s, err = measure(1, env, "sh", "-c", script)
		if err != nil {
			return err
		}
		theirs = append(theirs, s)
		var sum struct {
			Summary map[string]struct{ Complete int }
		}
		if _, err := a.Do(context.Background(), "GET", "/v1/job/"+id+"/summary", nil, &sum); err != nil || sum.Summary["pod"].Complete != 3 {
			return fmt.Errorf("nomad's benchmark job did not complete 3 allocations: %v %+v", err, sum)
		}
	}
	o, t := medianSample(ours), medianSample(theirs)
	fmt.Println(row{what: "nomad submit --wait (vs run+poll) wall", a: ms(o.wall), b: ms(t.wall), target: 1.0, unit: "ms"})
	fmt.Println(row{what: "nomad submit --wait (vs run+poll) CPU", a: ms(o.cpu), b: ms(t.cpu), target: 0.3, unit: "ms"})
	return benchNomadWait(bin, nomad, a.Addr, env, work)
}

const nomadBenchJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: bench
spec:
  completions: 3
  parallelism: 3
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: none
          command: ["/bin/true"]
`

// nomadBenchHCL is the same job as a Nomad user writes it.
const nomadBenchHCL = `job %q {
  type = "batch"
  group "pod" {
    count = 3
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`
