// Package scenario reads the Job controller scenarios in
// testdata/jobcontroller: one Job, what each of its container starts does,
// optional timed actions, and the outcome the real Kubernetes Job controller
// produced. The differential tests (e2e/jobdiff) run every scenario on a real
// control plane and on the local backend and compare both with the recorded
// outcome. Pure Go: no cluster needed to load or query a scenario.
//
// # Format
//
// One YAML file per scenario, NAME.yaml, NAME a DNS label (it names the
// scenario's namespace). Unknown keys anywhere are errors.
//
//	about: one line saying what the scenario covers
//	job:                      # the Job manifest exactly as a user writes it
//	  apiVersion: batch/v1
//	  kind: Job
//	  metadata: {name: pi}
//	  spec: ...               # validated as batchctl validates any manifest
//	pods:                     # what each container start does; first match wins
//	- index: 1                # Indexed jobs only: this completion index
//	  start: 0                # the n-th start (0-based) of this container at
//	                          #   this index (NonIndexed: in the whole job);
//	                          #   new pods and in-place restarts both count
//	  container: main         # a container or init container of the template
//	  exit: 3                 # the effect: exit with this code ...
//	  after: 2s               #   ... after running this long (default 0s)
//	- hang: true              # or: run until stopped
//	  ignoreSigterm: true     # with any effect: only SIGKILL stops it, so a
//	                          #   stop takes the whole grace period (exit 137)
//	- evict: true             # or: the node evicts the pod after `after`, as the
//	  after: 5s               #   kubelet does under memory pressure (pod Failed,
//	                          #   reason Evicted, condition DisruptionTarget)
//	- exit: 0                 # the last rule must match every start
//	  after: 1s
//	actions:                  # optional, at times since the Job was created
//	- {at: 3s, suspend: true}
//	- {at: 8s, resume: true}
//	expect:                   # written by `go test ./e2e/jobdiff -run Kubernetes
//	  phase: Failed           #   -update` from the real controller, never by hand
//	  reason: BackoffLimitExceeded  # the Failed condition's reason; "" on success
//	  succeeded: 0            # job.status.succeeded
//	  failed: 3               # job.status.failed
//	  completedIndexes: ""    # job.status.completedIndexes ("1,3-5")
//	  failedIndexes: ""       # job.status.failedIndexes
//	  starts: {"*": 3}        # pods created + in-place restarts, per completion
//	                          #   index ("0", "1", ...); "*" for NonIndexed
//
// A start is numbered per container because a container is the unit that
// runs: a program started by the local backend can count its own starts, but
// cannot tell which of its siblings share its pod. With one container per pod
// (most scenarios) this is simply the n-th pod or restart of that index.
package scenario
