package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func eventsCommand() *cli.Command {
	return &cli.Command{
		Name:      "events",
		Usage:     "show what happened to a job: pods created and deleted, failures, backoffs, deadlines",
		ArgsUsage: "NAME",
		Description: "Prints the job's events, oldest first, as the platform recorded them (on local, the Job\n" +
			"controller's decisions worded as Kubernetes records them). -f prints new ones until the job ends.",
		Flags: append(connectionFlags(),
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "print new events until the job finishes"},
			outputFlag("table or json (one object per line) (default table)"),
		),
		Action: action(func(c *cli.Context) error {
			name, err := oneName(c)
			if err != nil {
				return err
			}
			if isCronArg(name) {
				return usagef("events: %s is a CronJob, whose Jobs have the events: list them with `batchctl list`; `describe %s` shows its schedule", name, name)
			}
			format := c.String("output")
			if format == "" {
				format = outTable
			}
			if err := checkOutput(format, outTable, outJSON); err != nil {
				return err
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			ref := refFor(name, s)
			d, ok := b.(backends.Describer)
			if !ok {
				return usagef("events: the %s backend records no events", b.Info().Name)
			}
			p := &eventPrinter{w: c.App.Writer, json: format == outJSON, seen: map[string]bool{}}
			st, err := d.Describe(c.Context, ref)
			if err != nil {
				return err
			}
			p.print(st.Events)
			if !c.Bool("follow") || st.Phase.Terminal() {
				if !p.any && !p.json {
					fmt.Fprintln(c.App.ErrWriter, "no events")
				}
				return nil
			}
			err = b.Watch(c.Context, ref, func(cur *backends.Status) bool {
				st, err := d.Describe(c.Context, ref)
				if err == nil {
					p.print(st.Events)
				}
				return cur.Phase.Terminal()
			})
			if err == nil { // the last events may come with the end
				if st, err := d.Describe(c.Context, ref); err == nil {
					p.print(st.Events)
				}
			}
			return err
		}),
	}
}

// eventPrinter prints each event once.
type eventPrinter struct {
	w      io.Writer
	json   bool
	seen   map[string]bool
	header bool
	any    bool
}

func (p *eventPrinter) print(evs []backends.Event) {
	tw := tabwriter.NewWriter(p.w, 0, 8, 2, ' ', 0)
	for _, e := range evs {
		k := fmt.Sprintf("%d/%s/%s/%s/%s", e.Time.UnixNano(), e.Type, e.Reason, e.Object, e.Message)
		if p.seen[k] {
			continue
		}
		p.seen[k], p.any = true, true
		if p.json {
			_ = compactJSON(p.w, e)
			continue
		}
		if !p.header {
			fmt.Fprintln(tw, "TIME\tTYPE\tREASON\tOBJECT\tMESSAGE")
			p.header = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Type, e.Reason, orDash(e.Object), e.Message)
	}
	_ = tw.Flush()
}
