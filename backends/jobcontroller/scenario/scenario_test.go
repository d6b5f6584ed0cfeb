package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const jobYAML = `job:
  apiVersion: batch/v1
  kind: Job
  metadata:
    name: pi
  spec:
    completions: 3
    completionMode: Indexed
    template:
      spec:
        restartPolicy: Never
        containers:
        - name: main
          image: busybox
          command: ["sh", "-c", "exit 0"]
`

func parse(t *testing.T, doc string) (*Scenario, error) {
	t.Helper()
	return Parse("demo", "", []byte(doc))
}

func TestBehaviourFirstMatchWins(t *testing.T) {
	s, err := parse(t, "about: demo\n"+jobYAML+`pods:
- {index: 1, start: 0, exit: 3, after: 2s}
- {index: 1, hang: true, ignoreSigterm: true}
- {container: main, start: 2, evict: true, after: 4s}
- {exit: 0, after: 1s}
`)
	if err != nil {
		t.Fatal(err)
	}
	one, two := int32(1), int32(2)
	for _, c := range []struct {
		index *int32
		start int
		want  Effect
	}{
		{&one, 0, Effect{Exit: 3, After: 2 * time.Second}},
		{&one, 1, Effect{Hang: true, IgnoreSigterm: true}},
		{&two, 2, Effect{Evict: true, After: 4 * time.Second}},
		{&two, 0, Effect{After: time.Second}},
		{nil, 0, Effect{After: time.Second}},
	} {
		if got := s.Behaviour(c.index, c.start, "main"); got != c.want {
			t.Errorf("Behaviour(%s, %d) = %v, want %v", IndexKey(c.index), c.start, got, c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"about: x\n" + jobYAML + "pods: [{exit: 0}]\nbogus: 1\n", "field bogus not found"},
		{"about: x\n" + jobYAML + "pods: [{exit: 0, colour: red}]\n", "field colour not found"},
		{"about: x\n" + jobYAML + "pods: [{index: 0, exit: 1}]\n", "last rule must match every start"},
		{"about: x\n" + jobYAML + "pods: [{index: 5, exit: 1}, {exit: 0}]\n", "not below completions"},
		{"about: x\n" + jobYAML + "pods: [{container: side, exit: 1}, {exit: 0}]\n", `container "side" is not in the job`},
		{"about: x\n" + jobYAML + "pods: [{exit: 1, hang: true}]\n", "exactly one of exit"},
		{"about: x\n" + jobYAML + "pods: [{evict: true}]\n", "evict needs after"},
		{"about: x\n" + jobYAML + "pods: [{exit: 0, after: soon}]\n", "duration"},
		{"about: x\n" + jobYAML + "pods: [{exit: 0}]\nactions: [{at: 1s}]\n", "exactly one of suspend"},
		{"about: x\n" + jobYAML + "pods: [{exit: 0}]\nexpect: {phase: Done}\n", "phase must be"},
		{"about: x\n" + jobYAML + "pods: [{exit: 0}]\nexpect: {phase: Failed}\n", "reason is set exactly"},
		{"about: x\n" + strings.Replace(jobYAML, "completions: 3", "completionz: 3", 1) + "pods: [{exit: 0}]\n", "completionz"},
		{jobYAML + "pods: [{exit: 0}]\n", "about"},
	} {
		_, err := parse(t, c.doc)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q for\n%s", err, c.want, c.doc)
		}
	}
}

func TestDiff(t *testing.T) {
	want := Outcome{Phase: Failed, Reason: "BackoffLimitExceeded", Failed: 3, Starts: map[string]int{"*": 3}}
	got := want
	if d := want.Diff(got); d != "" {
		t.Errorf("Diff of equal outcomes: %s", d)
	}
	got = Outcome{Phase: Succeeded, Succeeded: 1, Starts: map[string]int{"0": 1}}
	d := want.Diff(got)
	for _, line := range []string{`phase: want "Failed", got "Succeeded"`, `reason: want "BackoffLimitExceeded", got ""`,
		`succeeded: want "0", got "1"`, "starts[*]: want 3, got none", "starts[0]: want none, got 1"} {
		if !strings.Contains(d, line) {
			t.Errorf("Diff lacks %q:\n%s", line, d)
		}
	}
}

func TestIntervals(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{2}, "2"}, {[]int{1, 3, 4, 5}, "1,3-5"}, {[]int{0, 1, 2, 7, 9, 10}, "0-2,7,9,10"}} {
		got := Intervals(c.in)
		if got != c.want {
			t.Errorf("Intervals(%v) = %q, want %q", c.in, got, c.want)
		}
		back, err := ParseIntervals(got)
		if err != nil || Intervals(back) != c.want {
			t.Errorf("ParseIntervals(%q) = %v, %v", got, back, err)
		}
	}
	if _, err := ParseIntervals("3,1"); err == nil {
		t.Error("ParseIntervals accepted unordered intervals")
	}
}

func TestWriteExpectKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "demo.yaml")
	head := "# a comment that stays\nabout: demo\n" + jobYAML + "pods:\n- {exit: 0, after: 1s}  # and this one\n"
	if err := os.WriteFile(path, []byte(head+"expect:\n  phase: Failed\n  reason: Old\n\n# trailing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o := Outcome{Phase: Succeeded, Succeeded: 3, CompletedIndexes: "0-2", Starts: map[string]int{"2": 1, "10": 2, "0": 1}}
	if err := s.WriteExpect(o); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := head + `expect:
  phase: Succeeded
  reason: ""
  succeeded: 3
  failed: 0
  completedIndexes: "0-2"
  failedIndexes: ""
  starts: {"0": 1, "2": 1, "10": 2}

# trailing
`
	if string(b) != want {
		t.Errorf("file after WriteExpect:\n%s\nwant:\n%s", b, want)
	}
	s2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := o.Diff(*s2.Expect); d != "" {
		t.Errorf("recorded outcome reads back differently:\n%s", d)
	}
}

// TestCorpus loads every scenario the differential tests run.
func TestCorpus(t *testing.T) {
	all, err := LoadDir(filepath.Join("..", "..", "..", "testdata", "jobcontroller"))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 40 {
		t.Errorf("%d scenarios, want at least 40", len(all))
	}
	for _, s := range all {
		if s.Expect == nil {
			t.Errorf("%s: no expect: block; record it with go test ./e2e/jobdiff -run Kubernetes -update", s.Name)
		}
	}
}

func TestTimingSensitive(t *testing.T) {
	serial, err := parse(t, "about: x\n"+strings.Replace(jobYAML, "completionMode: Indexed", "completionMode: Indexed\n    parallelism: 1", 1)+"pods: [{exit: 0}]\n")
	if err != nil {
		t.Fatal(err)
	}
	if serial.TimingSensitive() {
		t.Error("one pod at a time, exits only: reported timing sensitive")
	}
	for _, doc := range []string{
		"about: x\n" + strings.Replace(jobYAML, "completionMode: Indexed", "completionMode: Indexed\n    parallelism: 2", 1) + "pods: [{exit: 0}]\n",
		"about: x\n" + strings.Replace(jobYAML, "completionMode: Indexed", "completionMode: Indexed\n    parallelism: 1", 1) + "pods: [{hang: true}]\n",
		"about: x\n" + strings.Replace(jobYAML, "completionMode: Indexed", "completionMode: Indexed\n    parallelism: 1\n    activeDeadlineSeconds: 5", 1) + "pods: [{exit: 0}]\n",
	} {
		s, err := parse(t, doc)
		if err != nil {
			t.Fatal(err)
		}
		if !s.TimingSensitive() {
			t.Errorf("not reported timing sensitive:\n%s", doc)
		}
	}
}
