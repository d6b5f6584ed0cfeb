//go:build unix

package nomad_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// The Job controller's rules on a real Nomad agent: Nomad applies none of
// them, batchctl judges the allocations' history with them and, while it
// watches, stops the Nomad job at a verdict Nomad would not reach. The jobs
// go through the backend directly, as `submit --allow-approximate` sends
// them.

func submitManifest(t *testing.T, b backends.Backend, manifest string) backends.Ref {
	t.Helper()
	j, err := jobspec.Parse("job.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Submit(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name}
	t.Cleanup(func() { _ = b.Delete(context.Background(), ref) })
	return ref
}

// watchToEnd watches ref until it finishes and returns the last status.
func watchToEnd(t *testing.T, b backends.Backend, ref backends.Ref, within time.Duration) *backends.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var last *backends.Status
	err := b.Watch(ctx, ref, func(st *backends.Status) bool {
		last = st
		return st.Phase.Terminal()
	})
	if err != nil {
		t.Fatalf("Watch: %v (last status %+v)", err, last)
	}
	return last
}

// nomadJobStopped waits until the Nomad job is stopped and none of its
// allocations runs, and fails the test if that does not happen soon.
func nomadJobStopped(t *testing.T, addr string, ref backends.Ref) {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		job, _, err := c.Jobs().Info(ref.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		allocs, _, err := c.Jobs().Allocations(ref.Name, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, a := range allocs {
			if a.ClientStatus == api.AllocClientStatusRunning || a.ClientStatus == api.AllocClientStatusPending {
				running++
			}
		}
		if job.Stop != nil && *job.Stop && running == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Nomad job is not stopped (stop %v, %d allocations running)", job.Stop != nil && *job.Stop, running)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The Kubernetes docs' podFailurePolicy example: the pod that exits 42
// fails the job at once (reason PodFailurePolicy) although backoffLimit 6
// would allow retries, and the other allocations, which would run 30 s,
// are stopped with the Nomad job.
func TestAgentPodFailurePolicyFailJob(t *testing.T) {
	addr := devAgent(t).Addr
	b := newBackend(t, addr)
	ref := submitManifest(t, b, `apiVersion: batch/v1
kind: Job
metadata: {name: pfp-failjob}
spec:
  completions: 4
  parallelism: 2
  backoffLimit: 6
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: main, operator: In, values: [42]}
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: bash
        command: ["sh", "-c", "if [ \"$NOMAD_ALLOC_INDEX\" = 0 ]; then sleep 0.5; exit 42; fi; sleep 30"]
`)
	start := time.Now()
	st := watchToEnd(t, b, ref, time.Minute)
	if st.Phase != backends.Failed || st.Reason != "PodFailurePolicy" {
		t.Fatalf("status %s/%s %q, want Failed/PodFailurePolicy", st.Phase, st.Reason, st.Message)
	}
	if !regexp.MustCompile(`^Container main for pod default/[0-9a-f]{8} failed with exit code 42 matching FailJob rule at index 0`).MatchString(st.Message) {
		t.Errorf("message %q", st.Message)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the verdict took %v; the other allocations run 30 s", d)
	}
	nomadJobStopped(t, addr, ref)
	// The outcome stands once the Nomad job is stopped and its allocations killed.
	again, err := b.Status(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if again.Phase != backends.Failed || again.Reason != "PodFailurePolicy" || again.Active != 0 {
		t.Errorf("after the stop: %s/%s active %d %q", again.Phase, again.Reason, again.Active, again.Message)
	}
}

// successPolicy "index 2 succeeds": the other indexes fail and Nomad would
// go on rescheduling them; the job succeeds when index 2 does.
func TestAgentSuccessPolicy(t *testing.T) {
	addr := devAgent(t).Addr
	b := newBackend(t, addr)
	ref := submitManifest(t, b, `apiVersion: batch/v1
kind: Job
metadata: {name: success-policy}
spec:
  completions: 4
  parallelism: 4
  completionMode: Indexed
  backoffLimit: 10
  successPolicy:
    rules: [{succeededIndexes: "2"}]
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: python
        command: ["sh", "-c", "if [ \"$JOB_COMPLETION_INDEX\" = 2 ]; then sleep 1; exit 0; fi; exit 1"]
`)
	st := watchToEnd(t, b, ref, time.Minute)
	if st.Phase != backends.Succeeded || st.CompletedIndexes != "2" || st.Succeeded != 1 {
		t.Fatalf("status %s/%s succeeded %d completed %q %q, want Succeeded with index 2", st.Phase, st.Reason, st.Succeeded, st.CompletedIndexes, st.Message)
	}
	nomadJobStopped(t, addr, ref)
	again, err := b.Status(context.Background(), ref)
	if err != nil || again.Phase != backends.Succeeded || again.CompletedIndexes != "2" {
		t.Errorf("after the stop: %v %+v", err, again)
	}
}

// backoffLimitPerIndex 1 and maxFailedIndexes 1: odd indexes always fail,
// each is retried once (Nomad reschedules it), and the second failed index
// fails the job.
func TestAgentMaxFailedIndexes(t *testing.T) {
	addr := devAgent(t).Addr
	b := newBackend(t, addr)
	ref := submitManifest(t, b, `apiVersion: batch/v1
kind: Job
metadata: {name: per-index}
spec:
  completions: 4
  parallelism: 4
  completionMode: Indexed
  backoffLimitPerIndex: 1
  maxFailedIndexes: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: example
        image: python
        command: ["sh", "-c", "sleep 0.5; exit $((JOB_COMPLETION_INDEX % 2))"]
`)
	st := watchToEnd(t, b, ref, 2*time.Minute)
	if st.Phase != backends.Failed || st.Reason != "MaxFailedIndexesExceeded" || st.FailedIndexes != "1,3" || st.CompletedIndexes != "0,2" {
		t.Fatalf("status %s/%s failed %q completed %q (%q), want Failed/MaxFailedIndexesExceeded failed 1,3 completed 0,2",
			st.Phase, st.Reason, st.FailedIndexes, st.CompletedIndexes, st.Message)
	}
	if st.Failed != 4 {
		t.Errorf("failed %d, want 4 (two attempts of each odd index)", st.Failed)
	}
	d, err := b.(backends.Describer).Describe(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	perIndex := map[int32]int{}
	for _, a := range d.Attempts {
		perIndex[*a.Index]++
	}
	if fmt.Sprint(perIndex) != "map[0:1 1:2 2:1 3:2]" {
		t.Errorf("attempts per index %v, want one for even indexes and two for odd ones", perIndex)
	}
	found := false
	for _, e := range d.Events {
		found = found || (e.Reason == "MaxFailedIndexesExceeded" && e.Object == "Job/per-index")
	}
	if !found {
		t.Errorf("describe events lack the verdict: %+v", d.Events)
	}
}

// The Downward API through Nomad's interpolation: what the task sees.
func TestAgentEnvFromPod(t *testing.T) {
	addr := devAgent(t).Addr
	b := newBackend(t, addr)
	ref := submitManifest(t, b, `apiVersion: batch/v1
kind: Job
metadata: {name: env-from-pod}
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  backoffLimit: 0
  template:
    metadata:
      labels: {tier: batch}
      annotations: {owner: team-a}
    spec:
      restartPolicy: Never
      serviceAccountName: runner
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "echo name=$POD_NAME ns=$POD_NS uid=$POD_UID tier=$TIER owner=$OWNER idx=$IDX node=$NODE sa=$SA host=$HOST_IP pod=$POD_IP mem=$MEM cpu=$CPU ref=$REF opt=${OPT-unset}"]
        resources:
          requests: {cpu: 250m}
          limits: {memory: 64Mi}
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
        - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
        - {name: OWNER, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['owner']"}}}
        - {name: IDX, valueFrom: {fieldRef: {fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']"}}}
        - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
        - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
        - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
        - {name: CPU, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
        - {name: REF, value: "$(POD_NAME)/$(IDX)"}
        - {name: OPT, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}
`)
	st := watchToEnd(t, b, ref, time.Minute)
	if st.Phase != backends.Succeeded {
		d, _ := b.(backends.Describer).Describe(context.Background(), ref)
		for _, e := range d.Events {
			t.Logf("event %s %s %s", e.Reason, e.Object, e.Message)
		}
		t.Fatalf("status %s/%s %q", st.Phase, st.Reason, st.Message)
	}
	var l lines
	if err := b.Logs(context.Background(), ref, backends.LogOptions{}, &l); err != nil {
		t.Fatal(err)
	}
	sort.Strings(l.got)
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	nodes, _, err := c.Nodes().List(nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes %v %v", nodes, err)
	}
	node, _, err := c.Nodes().Info(nodes[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	ip := node.Attributes["unique.network.ip-address"]
	allocs, _, err := c.Jobs().Allocations(ref.Name, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	uid := map[string]string{}
	for _, a := range allocs {
		uid[a.Name] = a.ID
	}
	for i, line := range l.got {
		name := fmt.Sprintf("env-from-pod.pod[%d]", i)
		want := fmt.Sprintf("%d/0 name=%s ns=default uid=%s tier=batch owner=team-a idx=%d node=%s sa=runner host=%s pod=%s mem=64 cpu=250 ref=%s/%d opt=unset",
			i, name, uid[name], i, node.Name, ip, ip, name, i)
		if line != want {
			t.Errorf("index %d saw\n %s\nwant\n %s", i, line, want)
		}
	}
	if len(l.got) != 2 {
		t.Errorf("lines %q, want one per index", l.got)
	}
}
