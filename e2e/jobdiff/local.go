//go:build linux

package jobdiff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
	"github.com/batchctl/batchctl/backends/local"
	"github.com/batchctl/batchctl/jobspec"
)

// LocalOptions configure RunLocal.
type LocalOptions struct {
	StateDir string // the backend's state directory
	PodDir   string // the scripted containers' start counters
	// Backoff is local's first retry delay (setting local.backoff);
	// 0 keeps Kubernetes' 10 s.
	Backoff time.Duration
	Timeout time.Duration // how long the job may run; default 2m
}

// ErrNoActions: timed actions need suspend and resume (backends.Suspender),
// which the backend cannot do.
var ErrNoActions = errors.New("the backend cannot suspend or resume a submitted job, so the timed actions cannot run")

// RunLocal runs sc on the local backend (in this process, supervisors and
// containers re-executing this binary: TestMain must call
// local.MaybeSupervise and MaybeRunPod) and reduces it to an Outcome.
func RunLocal(ctx context.Context, sc *scenario.Scenario, opts LocalOptions) (scenario.Outcome, error) {
	var o scenario.Outcome
	if opts.Backoff == 0 {
		opts.Backoff = 10 * time.Second
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	job, err := scriptedJob(sc, opts.PodDir)
	if err != nil {
		return o, err
	}
	b, err := local.Open(local.Options{StateDir: opts.StateDir, Backoff: opts.Backoff}, io.Discard)
	if err != nil {
		return o, err
	}
	defer b.Close()
	susp, _ := b.(backends.Suspender)
	if len(sc.Actions) > 0 && susp == nil {
		return o, ErrNoActions
	}
	st, err := b.Submit(ctx, job)
	if err != nil {
		return o, fmt.Errorf("submit: %w", err)
	}
	created := time.Now()
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	defer func() {
		// Stop what still runs and wait for the supervisor to let go of the
		// state directory before the caller removes it.
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		_ = b.Delete(dctx, ref)
	}()
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	actCtx, stopActions := context.WithCancel(wctx)
	defer stopActions()
	actErr := make(chan error, 1)
	go func() { actErr <- act(actCtx, susp, ref, created, sc.Actions) }()
	var last *backends.Status
	err = b.Watch(wctx, ref, func(s *backends.Status) bool {
		last = s
		return s.Phase.Terminal()
	})
	stopActions()
	if aerr := <-actErr; aerr != nil && err == nil {
		return o, aerr
	}
	if err != nil {
		phase := "unknown"
		if last != nil {
			phase = fmt.Sprintf("%s (active %d, succeeded %d, failed %d)", last.Phase, last.Active, last.Succeeded, last.Failed)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return o, fmt.Errorf("not finished after %v; last status %s", opts.Timeout, phase)
		}
		return o, fmt.Errorf("watch: %w; last status %s", err, phase)
	}
	if d, ok := b.(backends.Describer); ok {
		// Status may leave out the attempts; Describe has them all.
		if last, err = d.Describe(ctx, ref); err != nil {
			return o, fmt.Errorf("describe: %w", err)
		}
	}
	return localOutcome(last), nil
}

// act suspends and resumes the job at the actions' times since created,
// until ctx ends (the job finished first).
func act(ctx context.Context, susp backends.Suspender, ref backends.Ref, created time.Time, actions []scenario.Action) error {
	for _, a := range actions {
		t := time.NewTimer(time.Until(created.Add(a.At.D())))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		do := susp.Resume
		if a.Suspend {
			do = susp.Suspend
		}
		// ErrInvalid: the job finished before the action; nothing to do.
		if err := do(ctx, ref); err != nil && ctx.Err() == nil && !errors.Is(err, backends.ErrInvalid) {
			return fmt.Errorf("action at %v: %w", a.At.D(), err)
		}
	}
	return nil
}

// localOutcome normalizes a finished local job: its status as the backend
// reports it, and its starts counted from its attempts (one per pod and per
// in-place restart).
func localOutcome(st *backends.Status) scenario.Outcome {
	o := scenario.Outcome{
		Phase: string(st.Phase), Succeeded: st.Succeeded, Failed: st.Failed,
		CompletedIndexes: st.CompletedIndexes, FailedIndexes: st.FailedIndexes,
		Starts: map[string]int{},
	}
	if st.Phase == backends.Failed {
		o.Reason = st.Reason
	}
	for _, a := range st.Attempts {
		o.Starts[scenario.IndexKey(a.Index)]++
	}
	return o
}

// scriptedJob is sc's job with every container's program replaced by this
// binary playing the scenario (see MaybeRunPod).
func scriptedJob(sc *scenario.Scenario, podDir string) (*jobspec.Job, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(sc.Manifest(), &m); err != nil {
		return nil, err
	}
	podSpec, _ := dig(m, "spec", "template", "spec").(map[string]any)
	if podSpec == nil {
		return nil, fmt.Errorf("%s: no spec.template.spec", sc.Name)
	}
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := podSpec[list].([]any)
		for _, c := range cs {
			c := c.(map[string]any)
			name, _ := c["name"].(string)
			c["command"] = []any{exe}
			delete(c, "args")
			env, _ := c["env"].([]any)
			for k, v := range map[string]string{envScenario: sc.Path, envStarts: podDir, envContainer: name} {
				env = append(env, map[string]any{"name": k, "value": v})
			}
			c["env"] = env
		}
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	return jobspec.Parse(sc.Name+" (scripted)", bytes.NewReader(out))
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
