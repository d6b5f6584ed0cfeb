package local

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/batchctl/batchctl/backends"
)

var _ backends.ListWatcher = (*backend)(nil)

// WatchList reads every job at each poll (files of this machine: no
// connection to save) and calls fn when anything a user sees changed.
func (b *backend) WatchList(ctx context.Context, opts backends.ListOptions, fn func([]*backends.Status) bool) error {
	var last *string // nil until fn has seen the first list, even an empty one
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		sts, err := b.List(ctx, opts)
		if err != nil {
			return err
		}
		if fp := fingerprint(sts); last == nil || fp != *last {
			last = &fp
			if fn(sts) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// fingerprint is what a change of any job changes.
func fingerprint(sts []*backends.Status) string {
	var b strings.Builder
	for _, st := range sts {
		fmt.Fprintf(&b, "%s/%s/%s/%s/%s/%d/%d/%d;", st.Namespace, st.Name, st.UID, st.Phase, st.Reason, st.Active, st.Succeeded, st.Failed)
	}
	return b.String()
}
