package jobcontroller

import (
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// BenchmarkCompletions drives a machine through n completions of a
// container that exits 0 at once, at parallelism 32, as the local
// supervisor does; the cost per completion should not grow with n.
func BenchmarkCompletions(b *testing.B) {
	for _, n := range []int32{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				runCompletions(b, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/completion")
		})
	}
}

func runCompletions(b *testing.B, n int32) {
	par := int32(32)
	job := &batchv1.Job{Spec: batchv1.JobSpec{Completions: &n, Parallelism: &par,
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "main"}}}}}}
	job.Name = "bench"
	now := time.Unix(0, 0)
	m, err := New(job, Options{}, now)
	if err != nil {
		b.Fatal(err)
	}
	queue := m.TakeActions()
	for len(queue) > 0 && !m.Done() {
		a := queue[0]
		queue = queue[1:]
		now = now.Add(time.Millisecond)
		switch a := a.(type) {
		case StartContainer:
			m.ContainerStarted(a.Pod, a.Container, now)
			m.ContainerExited(a.Pod, a.Container, Exit{}, now)
			m.PodTerminated(a.Pod, now)
		}
		queue = append(queue, m.TakeActions()...)
		if t, ok := m.NextTimer(); ok && !t.After(now) {
			m.Tick(now)
			queue = append(queue, m.TakeActions()...)
		}
	}
	if !m.Finished() {
		b.Fatalf("not finished: %d actions left", len(queue))
	}
}
