package k8s

// Helpers of the unit tests, which run everywhere (the real cluster's tests
// are Linux only).

import (
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchctl/batchctl/backends"
)

type logLine struct {
	src  backends.LogSource
	text string
}

type lineSink struct {
	mu     sync.Mutex
	lines  []logLine
	onLine func(logLine)
}

func (s *lineSink) Line(src backends.LogSource, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, logLine{src, text})
	if s.onLine != nil {
		s.onLine(logLine{src, text})
	}
}

func (s *lineSink) get() []logLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logLine(nil), s.lines...)
}

func testPod(name string, created int, phase corev1.PodPhase, cs ...corev1.ContainerStatus) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(time.Unix(int64(created), 0))},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}},
		Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: cs},
	}
}

func exited(code int32, reason string) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, ContainerID: fmt.Sprintf("containerd://%d", code)}
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
