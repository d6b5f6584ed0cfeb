package nomad

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
)

// judged is the status of s for a watcher (Watch, Logs -f). When the Job
// controller has decided the outcome by a rule Nomad does not know (a
// FailJob rule, a success policy met, the job's deadline, a job-wide
// backoff limit, ...) while Nomad still runs or will retry allocations, it
// stops the Nomad job (deregistered, not purged: the allocations and their
// logs stay readable), as Kubernetes stops a finished job's pods. A watcher
// not allowed to stop the job says so and goes on.
func (b *backend) judged(ctx context.Context, ref backends.Ref, s *snapshot, op string) *backends.Status {
	st, as := assess(s.job, s.allocs, time.Now())
	if !as.enforce {
		return st
	}
	// One stop per job: submit --follow watches and follows logs at once.
	key := fmt.Sprintf("%s|%s|%d", b.cfg.Address, ref, deref(s.job.CreateIndex))
	if _, busy := stopping.LoadOrStore(key, true); busy {
		st.Message = joinMessage(as.verdict, stoppedNote)
		return st
	}
	err := b.call(ctx, op, ref, func(c *api.Client) error {
		w := (&api.WriteOptions{Namespace: ref.Namespace, Region: b.cfg.Region}).WithContext(ctx)
		_, _, err := c.Jobs().DeregisterOpts(ref.Name, &api.DeregisterOptions{Purge: false}, w)
		return err
	})
	what := string(st.Phase)
	if st.Reason != "" {
		what += " (" + st.Reason + ")"
	}
	if err != nil {
		stopping.Delete(key) // the next change tries again
		fmt.Fprintf(b.stderr, "nomad: warning: job %s is %s by the Job controller's rules, but batchctl could not stop the Nomad job, whose allocations run on: %v\n", ref, what, err)
		return st
	}
	fmt.Fprintf(b.stderr, "nomad: job %s is %s by the Job controller's rules, which Nomad does not apply: stopped the Nomad job (not purged) so that nothing more runs\n", ref, what)
	st.Message = joinMessage(as.verdict, stoppedNote)
	return st
}

// stopping holds the jobs a watcher of this process has stopped (or is
// stopping), by address, ref and incarnation.
var stopping sync.Map
