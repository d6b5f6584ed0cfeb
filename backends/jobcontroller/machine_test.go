package jobcontroller

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Same inputs, same outputs: two runs of a busy scenario agree on every
// action, time and status field.
func TestDeterministic(t *testing.T) {
	spec := `completionMode: Indexed
completions: 6
parallelism: 3
backoffLimitPerIndex: 2`
	do := func(ix int32, _ string, n int) effect {
		return effect{exit: int32((int(ix) + n) % 2), after: time.Duration(ix+1) * time.Second}
	}
	run := func() ([]string, Status) {
		r := newRuntime(t, job(spec, "restartPolicy: Never"), Options{}, do)
		return r.log, r.run()
	}
	log1, st1 := run()
	log2, st2 := run()
	if !reflect.DeepEqual(log1, log2) || !reflect.DeepEqual(st1, st2) {
		t.Fatal("two runs differ")
	}
}

func TestNamePod(t *testing.T) {
	n := 0
	name := func(ix int32) string { n++; return fmt.Sprintf("p%d-%d", ix, n) }
	r := newRuntime(t, job("completionMode: Indexed\ncompletions: 2\nparallelism: 2", "restartPolicy: Never"),
		Options{NamePod: name}, always(effect{exit: 0}))
	r.run()
	if r.log[0] != "0s create p0-1" || !strings.Contains(r.logString(), "create p1-2") {
		t.Errorf("log:\n%s", r.logString())
	}
}

func TestGeneratedNamesAreCut(t *testing.T) {
	m := &Machine{name: strings.Repeat("a", 63)}
	if got := m.podName(7); len(got) != 63 || !strings.HasSuffix(got, "a-7-bbbbb") {
		t.Errorf("indexed name %q (%d)", got, len(got))
	}
	if got := m.podName(-1); len(got) != 63 {
		t.Errorf("name %q (%d)", got, len(got))
	}
}

// DeletionByPodGC: the pod is lost: Failed at once, deleted, and whatever
// is left killed; the job does not wait for it.
func TestLostPod(t *testing.T) {
	r := newRuntime(t, job("", "restartPolicy: Never"), Options{PodBackoff: NoDelay}, func(_ int32, _ string, n int) effect {
		if n == 0 {
			return effect{hang: true}
		}
		return effect{exit: 0, after: time.Second}
	})
	r.m.PodDisrupted("j-bbbbb", "DeletionByPodGC", t0.Add(time.Second))
	acts := r.m.TakeActions()
	want := []Action{KillPod{Pod: "j-bbbbb"}, CreatePod{Pod: "j-bbbbc"}, StartContainer{Pod: "j-bbbbc", Container: "main"}, RemovePod{Pod: "j-bbbbb"}}
	if fmt.Sprintf("%#v", acts) != fmt.Sprintf("%#v", want) {
		t.Errorf("actions %v, want %v", acts, want)
	}
	st := r.m.Status()
	if st.Failed != 1 || st.Pods[0].Phase != "Failed" || !st.Pods[0].Deleted {
		t.Errorf("failed=%d pod %+v", st.Failed, st.Pods[0])
	}
}

// Image errors leave the container waiting: the pod stays Pending and the
// kubelet tries again after 10 s, 20 s, ...; nothing counts as a failure.
func TestImagePullErrorsWait(t *testing.T) {
	r := newRuntime(t, job("activeDeadlineSeconds: 40", "restartPolicy: Never"), Options{}, func(_ int32, _ string, n int) effect {
		return effect{exit: 0, reason: "ErrImagePull"}
	})
	st := r.run()
	if got := fmt.Sprint(r.times("start")); got != "[0s 10s 30s]" {
		t.Errorf("starts %s", got)
	}
	if got := outcome(st); got != `Failed "DeadlineExceeded" succeeded=0 failed=1 completed="" failedIndexes=""` {
		t.Errorf("outcome %s", got)
	}
	if len(st.Attempts) != 1 || st.Attempts[0].ExitCode != nil {
		t.Errorf("attempts %+v", st.Attempts)
	}
}

func TestNormalized(t *testing.T) {
	r := newRuntime(t, job("completions: 2\nbackoffLimit: 0", "restartPolicy: Never"), Options{}, always(effect{exit: 1, after: time.Second}))
	r.run()
	n := r.m.Normalized()
	if n.Name != "j" || n.Phase != "Failed" || n.Reason != "BackoffLimitExceeded" || n.Completions != 2 || n.Parallelism != 1 ||
		n.CompletionMode != "NonIndexed" || n.CompletionTime == nil || !n.CreationTime.Equal(t0) || len(n.Attempts) != 1 {
		t.Errorf("%+v", n)
	}
}

func TestRefused(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	for name, spec := range map[string]corev1.PodSpec{
		"Always":   {RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "c"}}},
		"defaults": {Containers: []corev1.Container{{Name: "c"}}}, // restartPolicy defaults to Always
		"sidecar": {RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c"}},
			InitContainers: []corev1.Container{{Name: "s", RestartPolicy: &always}}},
	} {
		j := &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}
		if _, err := New(j, Options{}, t0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(&batchv1.Job{}, Options{}, t0); err == nil {
		t.Error("a job without containers is accepted")
	}
}
