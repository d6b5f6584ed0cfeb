package jobspec

import (
	"strings"
	"testing"
)

func TestWorkQueueModeIsRecorded(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want bool
	}{
		{"  parallelism: 3\n", true},
		{"  parallelism: 3\n  completions: 3\n", false},
		{"  parallelism: 1\n", false},
		{"", false},
	} {
		job, err := Parse("job.yaml", strings.NewReader("apiVersion: batch/v1\nkind: Job\nmetadata: {name: q}\nspec:\n"+tc.spec+
			"  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: i, command: [\"true\"]}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if job.WorkQueue != tc.want || job.Completions < 1 {
			t.Errorf("%q: WorkQueue=%v completions=%d, want WorkQueue=%v and completions defaulted", tc.spec, job.WorkQueue, job.Completions, tc.want)
		}
	}
}
