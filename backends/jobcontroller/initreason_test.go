package jobcontroller

import (
	"slices"
	"testing"
	"time"
)

// An attempt an init container ended shows it as kubectl shows the pod:
// Init:Error, with the init container's exit code; a failure of a regular
// container keeps its own reason. Under OnFailure, each failed run of the
// init container is an attempt of its own.
func TestInitContainerFailureReason(t *testing.T) {
	const spec = `initContainers: [{name: setup, image: busybox}]
containers: [{name: main, image: busybox}]`
	for _, tc := range []struct {
		name, job, policy string
		want              []string
	}{
		{"never", "backoffLimit: 1", "restartPolicy: Never", []string{"Failed 1 Init:Error", "Failed 1 Init:Error"}},
		{"onfailure", "backoffLimit: 3", "restartPolicy: OnFailure", []string{"Failed 1 Init:Error", "Failed 1 Init:Error", "Succeeded 0 Completed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t, job(tc.job, tc.policy+"\n"+spec), Options{}, func(_ int32, c string, n int) effect {
				if c == "setup" && (tc.name == "never" || n < 2) {
					return effect{exit: 1, after: time.Second}
				}
				return effect{exit: 0, after: time.Second}
			})
			st := r.run()
			var got []string
			for _, a := range st.Attempts {
				got = append(got, string(a.Phase)+" "+itoa(int(ptrOr(a.ExitCode)))+" "+a.Reason)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("attempts %q, want %q", got, tc.want)
			}
		})
	}
}

func ptrOr(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}
