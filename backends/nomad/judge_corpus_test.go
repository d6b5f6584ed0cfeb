package nomad

import (
	"testing"

	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
)

// corpusDir holds the Job controller scenarios with the outcome the real
// Kubernetes Job controller produced for each.
const corpusDir = "../../testdata/jobcontroller"

// notOnNomad are the corpus scenarios whose pod history Nomad cannot
// produce, and why.
// (Scenarios with timed actions suspend the job: the nomad backend refuses
// suspend.)
var notOnNomad = map[string]string{
	"deadline-pod":           "Nomad cannot enforce the pod's activeDeadlineSeconds (refused by default)",
	"deadline-pod-onfailure": "Nomad cannot enforce the pod's activeDeadlineSeconds (refused by default)",
}

// approximated are the scenarios where what Nomad runs differs from what
// Kubernetes runs by an approximation the fidelity report names: the
// judged phase and reason must be these, the counts may differ.
var approximated = map[string]struct{ phase, reason, why string }{
	"workqueue-all-succeed":          {"Succeeded", "", "Nomad runs a work queue as one allocation (spec.completions, approximated)"},
	"workqueue-failure-not-replaced": {"Succeeded", "", "Nomad runs a work queue as one allocation (spec.completions, approximated)"},
	"workqueue-failure-replaced":     {"Succeeded", "", "Nomad runs a work queue as one allocation (spec.completions, approximated)"},
	// The refused approximation: ignored failures use up Nomad's reschedules.
	"pfp-ignore-exit-code": {"Failed", reasonRetriesExhausted, "Nomad counts the failures an Ignore rule ignores against its reschedules (spec.podFailurePolicy, refused by default)"},
}

// TestJudgeCorpus plays the scenarios of the Job controller corpus as Nomad
// runs them (nomadSim) and checks that the judged status is the outcome the
// real Kubernetes Job controller produced: the phase and reason, the
// counts, the completed and failed indexes. Nobody watches in the first
// run: Nomad runs on after the verdict and retries to its own limits, which
// must not change it. In the second, batchctl watches and stops the Nomad
// job at a verdict Nomad would not reach, which must not change it either,
// and leaves nothing to enforce.
func TestJudgeCorpus(t *testing.T) {
	scs, err := scenario.LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	played, stopped := 0, 0
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			if why, skip := notOnNomad[sc.Name]; skip {
				t.Skip(why)
			}
			if len(sc.Actions) > 0 {
				t.Skip("suspends the job: the nomad backend refuses suspend")
			}
			if sc.Expect == nil {
				t.Skip("no recorded outcome")
			}
			played++
			for _, watch := range []bool{false, true} {
				s := newNomadSim(t, sc, watch)
				allocs := s.run()
				st, as := assess(s.job, allocs, s.now)
				got := simOutcome(st)
				want := *sc.Expect
				want.Starts, got.Starts = nil, nil
				if a, ok := approximated[sc.Name]; ok {
					if got.Phase != a.phase || got.Reason != a.reason {
						t.Errorf("watch=%v: %s/%s, want %s/%s (%s): %s", watch, got.Phase, got.Reason, a.phase, a.reason, a.why, st.Message)
					}
				} else if d := want.Diff(got); d != "" {
					t.Errorf("watch=%v: judged outcome differs from Kubernetes':\n%smessage: %s\nhistory:\n%s", watch, d, st.Message, describeHistory(allocs, s.t0))
				}
				if watch && as.enforce {
					t.Errorf("watched, and still a verdict to enforce: %s", st.Message)
				}
				if watch && !s.stopped.IsZero() {
					stopped++
					t.Logf("the watcher stopped the Nomad job at %v: %s/%s", s.stopped.Sub(s.t0), st.Phase, st.Reason)
				}
			}
		})
	}
	if played < 40 {
		t.Errorf("only %d scenarios played", played)
	}
	t.Logf("%d scenarios played; in %d the watcher stopped the Nomad job at the verdict", played, stopped)
}
