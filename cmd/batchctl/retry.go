package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/urfave/cli/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Retries are new jobs, linked to the original by labels; the original is
// never modified. An Indexed job's retry is one job per index to run again,
// NonIndexed with JOB_COMPLETION_INDEX (and the completion-index annotation)
// set to that index: no platform can run an Indexed job on some of its
// indexes only. A NonIndexed job's retry is the whole job again.
const (
	retryOfLabel    = "batchctl.dev/retry-of"
	retryLabel      = "batchctl.dev/retry"
	retryIndexLabel = "batchctl.dev/retry-index"
	completionIndex = "batch.kubernetes.io/job-completion-index"
)

func retryCommand() *cli.Command {
	return &cli.Command{
		Name:      "retry",
		Usage:     "run again what a finished job did not complete: the failed indexes of an Indexed job, else the whole job",
		ArgsUsage: "NAME",
		Description: "Creates new jobs from the manifest NAME was submitted with, labelled " + retryOfLabel + "=NAME;\n" +
			"NAME itself is never changed. For an Indexed job, one job per index not yet completed by NAME\n" +
			"or an earlier retry (NAME-rN-INDEX), each with its JOB_COMPLETION_INDEX; --index LIST chooses\n" +
			"(\"1,3-5\"). `status`, `wait` and `logs` of NAME with --retries cover the retries; wait --retries\n" +
			"exits 0 once every index completed in some job.",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "index", Usage: "indexes to retry, e.g. 1,3-5 (default: those not completed)"},
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "wait for the retries; the exit code is the combined outcome"},
			timeoutFlag(),
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the names of the retry jobs"},
			allowApproximateFlag(),
		),
		Action: action(retry),
	}
}

func retry(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	if isCronArg(name) {
		return usagef("retry: %s is a CronJob; `batchctl trigger %s` runs it now, and retry retries one of its Jobs", name, name)
	}
	b, s, err := openBackend(c)
	if err != nil {
		return err
	}
	defer b.Close()
	ref := refFor(name, s)
	fam, err := family(c.Context, b, s, ref)
	if err != nil {
		return err
	}
	if !fam.orig.Phase.Terminal() {
		return usagef("retry: job %s is still %s; wait for it to finish first", name, fam.orig.Phase)
	}
	m, ok := b.(backends.Manifester)
	if !ok {
		return usagef("retry: the %s backend keeps no manifest to retry from", b.Info().Name)
	}
	base, err := m.Manifest(c.Context, ref)
	if err != nil {
		return err
	}
	if base == nil {
		return usagef("retry: job %s was not submitted by batchctl: it has no manifest to retry from", name)
	}
	indexed := fam.orig.CompletionMode == string(jobspec.Indexed)
	var indexes []int32
	switch {
	case c.IsSet("index") && !indexed:
		return usagef("retry --index: job %s is not Indexed", name)
	case c.IsSet("index"):
		if indexes, err = backends.ParseIndexes(c.String("index"), fam.orig.Completions); err != nil {
			return usagef("retry --index: %v", err)
		}
	case indexed:
		indexes = fam.remaining()
		if len(indexes) == 0 {
			fmt.Fprintf(c.App.ErrWriter, "every index of job %s has completed: nothing to retry\n", name)
			return nil
		}
	case fam.done():
		fmt.Fprintf(c.App.ErrWriter, "job %s has succeeded: nothing to retry\n", name)
		return nil
	}
	n := fam.nextRetry()
	var created []backends.Ref
	submitOne := func(obj *batchv1.Job) error {
		job, err := jobFromObject(obj)
		if err != nil {
			return err
		}
		if err := checkFidelity(b, job, false, allowApproximate(c, s), quietNotes(c, s), c.App.ErrWriter); err != nil {
			return err
		}
		if err := stamp(job); err != nil {
			return err
		}
		st, err := b.Submit(c.Context, job)
		if err != nil {
			return err
		}
		created = append(created, backends.Ref{Name: st.Name, Namespace: st.Namespace})
		if c.Bool("quiet") {
			fmt.Fprintln(c.App.Writer, jobArg(st, s, b.Info()))
		} else {
			fmt.Fprintf(c.App.Writer, "job/%s created\n", jobArg(st, s, b.Info()))
		}
		return nil
	}
	if !indexed {
		if err := submitOne(retryObject(base, fam.orig.Name, n, nil)); err != nil {
			return err
		}
	}
	for _, i := range indexes {
		if err := submitOne(retryObject(base, fam.orig.Name, n, &i)); err != nil {
			return err
		}
	}
	if !c.Bool("wait") {
		return nil
	}
	return waitFamily(c, b, s, ref)
}

// retryObject is the manifest of retry n of orig: the same pod template, as
// a job of its own (one index of an Indexed job, as NonIndexed).
func retryObject(base *batchv1.Job, orig string, n int, index *int32) *batchv1.Job {
	obj := base.DeepCopy()
	obj.GenerateName, obj.ResourceVersion, obj.UID = "", "", ""
	obj.Name = fmt.Sprintf("%s-r%d", orig, n)
	obj.Labels = maps.Clone(obj.Labels)
	if obj.Labels == nil {
		obj.Labels = map[string]string{}
	}
	obj.Labels[retryOfLabel] = orig
	obj.Labels[retryLabel] = strconv.Itoa(n)
	spec := &obj.Spec
	spec.Selector, spec.ManualSelector, spec.Suspend = nil, nil, nil
	if index == nil {
		return obj
	}
	idx := strconv.Itoa(int(*index))
	obj.Name += "-" + idx
	obj.Labels[retryIndexLabel] = idx
	one := int32(1)
	spec.Completions, spec.Parallelism, spec.CompletionMode = &one, &one, nil
	// The index's own budget, as it had under backoffLimitPerIndex.
	if spec.BackoffLimitPerIndex != nil {
		spec.BackoffLimit = spec.BackoffLimitPerIndex
	}
	spec.BackoffLimitPerIndex, spec.MaxFailedIndexes, spec.SuccessPolicy = nil, nil, nil
	if pfp := spec.PodFailurePolicy; pfp != nil {
		for i := range pfp.Rules {
			if pfp.Rules[i].Action == batchv1.PodFailurePolicyActionFailIndex {
				pfp.Rules[i].Action = batchv1.PodFailurePolicyActionFailJob // the job is the index now
			}
		}
	}
	tpl := &spec.Template
	tpl.Annotations = maps.Clone(tpl.Annotations)
	if tpl.Annotations == nil {
		tpl.Annotations = map[string]string{}
	}
	tpl.Annotations[completionIndex] = idx
	for _, cs := range [][]corev1.Container{tpl.Spec.InitContainers, tpl.Spec.Containers} {
		for i := range cs {
			if !slices.ContainsFunc(cs[i].Env, func(e corev1.EnvVar) bool { return e.Name == "JOB_COMPLETION_INDEX" }) {
				cs[i].Env = append(cs[i].Env, corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", Value: idx})
			}
		}
	}
	return obj
}

// jobFromObject reads a manifest object back through the manifest reader,
// so a retry is validated like any submitted job.
func jobFromObject(obj *batchv1.Job) (*jobspec.Job, error) {
	obj = obj.DeepCopy()
	obj.APIVersion, obj.Kind = "batch/v1", "Job"
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	// The Go types write what a user never would (an empty status, a null
	// creation time): drop them, so the manifest reads as written.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if b, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return jobspec.Parse(obj.Name+" (retry)", bytes.NewReader(b))
}

// jobFamily is a job and its retries.
type jobFamily struct {
	orig    *backends.Status
	retries []*backends.Status
}

func family(ctx context.Context, b backends.Backend, s settings, ref backends.Ref) (*jobFamily, error) {
	orig, err := b.Status(ctx, ref)
	if err != nil {
		return nil, err
	}
	sel, err := backends.ParseSelector(retryOfLabel + "=" + orig.Name)
	if err != nil {
		return nil, err
	}
	all, err := b.List(ctx, backends.ListOptions{Namespace: orig.Namespace, Selector: sel})
	if err != nil {
		return nil, err
	}
	return &jobFamily{orig: orig, retries: all}, nil
}

// completed are the indexes completed by the job or any retry.
func (f *jobFamily) completed() []int32 {
	done, _ := backends.ParseIndexes(f.orig.CompletedIndexes, 0)
	for _, r := range f.retries {
		if i, err := strconv.Atoi(r.Labels[retryIndexLabel]); err == nil && r.Phase == backends.Succeeded {
			done = append(done, int32(i))
		}
	}
	slices.Sort(done)
	return slices.Compact(done)
}

// remaining are the indexes neither the job nor a retry completed.
func (f *jobFamily) remaining() []int32 {
	done := f.completed()
	var out []int32
	for i := int32(0); i < f.orig.Completions; i++ {
		if _, found := slices.BinarySearch(done, i); !found {
			out = append(out, i)
		}
	}
	return out
}

// done: the job's work is complete, in the job itself or its retries.
func (f *jobFamily) done() bool {
	if f.orig.CompletionMode == string(jobspec.Indexed) {
		return len(f.remaining()) == 0
	}
	if f.orig.Phase == backends.Succeeded {
		return true
	}
	return slices.ContainsFunc(f.retries, func(r *backends.Status) bool { return r.Phase == backends.Succeeded })
}

func (f *jobFamily) nextRetry() int {
	n := 0
	for _, r := range f.retries {
		if k, err := strconv.Atoi(r.Labels[retryLabel]); err == nil {
			n = max(n, k)
		}
	}
	return n + 1
}

// summary is one line on the family's combined outcome.
func (f *jobFamily) summary() string {
	if f.orig.CompletionMode == string(jobspec.Indexed) {
		left := f.remaining()
		if len(left) == 0 {
			return fmt.Sprintf("all %d indexes completed (job and %d retries)", f.orig.Completions, len(f.retries))
		}
		return fmt.Sprintf("%d of %d indexes completed; not completed: %s", int(f.orig.Completions)-len(left), f.orig.Completions, backends.FormatIndexes(left))
	}
	if f.done() {
		return fmt.Sprintf("completed (job and %d retries)", len(f.retries))
	}
	return fmt.Sprintf("not completed (job and %d retries)", len(f.retries))
}

// waitFamily waits for the job and all its retries, then exits with the
// combined outcome: 0 when its work is complete, 1 otherwise.
func waitFamily(c *cli.Context, b backends.Backend, s settings, ref backends.Ref) error {
	fam, err := family(c.Context, b, s, ref)
	if err != nil {
		return err
	}
	sel := selection{refs: []backends.Ref{{Name: fam.orig.Name, Namespace: fam.orig.Namespace}}}
	for _, r := range fam.retries {
		sel.refs = append(sel.refs, backends.Ref{Name: r.Name, Namespace: r.Namespace})
	}
	err = waitMany(c, b, s, sel, "")
	var jf jobsFailedError
	if err != nil && !asJobsFailed(err, &jf) {
		return err
	}
	if fam, err = family(c.Context, b, s, ref); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "job/%s: %s\n", refArg(ref, s, b.Info()), fam.summary())
	if !fam.done() {
		return jobFailedError{&backends.Status{Name: fam.orig.Name, Reason: "NotCompleted", Message: fam.summary()}}
	}
	return nil
}

func asJobsFailed(err error, target *jobsFailedError) bool {
	e, ok := err.(jobsFailedError)
	if ok {
		*target = e
	}
	return ok
}
