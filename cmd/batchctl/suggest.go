package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// argsKey holds, in cli.App.Metadata, the command line urfave parses, so
// usage errors can quote flags as the user typed them: Go's flag package
// names every flag with one dash ("-folow" for --folow).
const argsKey = "args"

// cmdUsageError is a usage error found outside a command's action (parsing
// the command line, checking a flag's value): exit 2, naming the command as
// action's errors do.
type cmdUsageError struct {
	cmd string // the command's path, "config view"; "" for batchctl itself
	msg string
}

func (e *cmdUsageError) Error() string {
	if e.cmd == "" {
		return "batchctl: " + e.msg
	}
	return "batchctl " + e.cmd + ": " + e.msg
}

// commandPath is the path of c's command ("config view"), "" for batchctl
// itself. (urfave v2's Command.FullName gives only the last name.)
func commandPath(c *cli.Context) string {
	var names []string
	for _, ctx := range c.Lineage() {
		if ctx.Command != nil && ctx.Command.Name != c.App.Name {
			names = append([]string{ctx.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

func flagNeedsValue(arg string) error {
	return &cmdUsageError{msg: fmt.Sprintf("flag %s needs a value", arg)}
}

// Go's flag package errors, which urfave passes on.
var (
	errUndefined = regexp.MustCompile(`^flag provided but not defined: -(.+)$`)
	errValue     = regexp.MustCompile(`^invalid (?:boolean )?value (".*") for (?:flag )?-([^\s:]+): `)
	errNoValue   = regexp.MustCompile(`^flag needs an argument: -(.+)$`)
)

// durationWant is what a duration flag takes.
const durationWant = "want a duration such as 30s, 5m or 1h30m, ≥ 0"

// usageMessage rewrites urfave's error for a command line it could not
// parse: the flag as typed, a "did you mean" for an unknown one, and what a
// flag's value should look like.
func usageMessage(c *cli.Context, parseErr error) error {
	args, _ := c.App.Metadata[argsKey].([]string)
	flags := c.Command.Flags
	if commandPath(c) == "" {
		flags = append(slices.Clone(flags), globalFlags(c.App)...)
	}
	e := &cmdUsageError{cmd: commandPath(c), msg: parseErr.Error()}
	if m := errUndefined.FindStringSubmatch(e.msg); m != nil {
		e.msg = "flag provided but not defined: " + typedFlag(args, m[1])
		if s := suggestFlag(flags, m[1]); s != "" {
			e.msg += "; did you mean " + s + "?"
		} else if lookupFlag(globalFlags(c.App), m[1]) != nil {
			e.msg += " (" + e.cmd + " does not talk to a backend)"
		}
	} else if m := errValue.FindStringSubmatch(e.msg); m != nil {
		f := lookupFlag(flags, m[2])
		if want := valueWant(f); want != "" {
			e.msg = fmt.Sprintf("%s %s: %s", typedFlag(args, m[2]), m[1], want)
		} else {
			e.msg = strings.Replace(e.msg, " -"+m[2]+": ", " "+typedFlag(args, m[2])+": ", 1)
		}
	} else if m := errNoValue.FindStringSubmatch(e.msg); m != nil {
		e.msg = fmt.Sprintf("flag %s needs a value", typedFlag(args, m[1]))
	}
	return cli.Exit(e.Error(), exitUsage)
}

// valueWant says what values f takes, for an error about one it refused.
func valueWant(f cli.Flag) string {
	switch f.(type) {
	case *cli.DurationFlag:
		return durationWant
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		return "want a whole number"
	case *cli.BoolFlag:
		return "want true or false"
	}
	return ""
}

// checkDuration is a duration flag's Action: urfave takes negative
// durations, which batchctl's waits would read as "forever".
func checkDuration(name string) func(*cli.Context, time.Duration) error {
	return func(c *cli.Context, d time.Duration) error {
		if d >= 0 {
			return nil
		}
		args, _ := c.App.Metadata[argsKey].([]string)
		return &cmdUsageError{cmd: commandPath(c), msg: fmt.Sprintf("%s %q: %s", typedFlag(args, name), typedValue(args, name, d.String()), durationWant)}
	}
}

// typedFlag is how the user wrote flag name in args: "--folow", "-f".
func typedFlag(args []string, name string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		if isFlagArg(a) && flagArgName(a) == name {
			return a[:len(a)-len(strings.TrimLeft(a, "-"))] + name
		}
	}
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// typedValue is the last value given to flag name in args, as typed; def
// when it cannot be found (an alias was used).
func typedValue(args []string, name, def string) string {
	val := def
	for i, a := range args {
		if a == "--" {
			break
		}
		if !isFlagArg(a) || flagArgName(a) != name {
			continue
		}
		if _, v, ok := strings.Cut(a, "="); ok {
			val = v
		} else if i+1 < len(args) {
			val = args[i+1]
		}
	}
	return val
}

// suggestFlag proposes the flags of flags closest to the unknown name, as
// they are written ("--follow"); "" when none is close.
func suggestFlag(flags []cli.Flag, name string) string {
	var names []string
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		for _, n := range f.Names() {
			if len(n) > 1 {
				names = append(names, n)
			}
		}
	}
	var out []string
	for _, s := range closest(name, names) {
		out = append(out, "--"+s)
	}
	return strings.Join(out, " or ")
}

// commandNotFound is the error for an unknown command name in cmds (the
// subcommands of path; "" for batchctl's own).
func commandNotFound(path, name string, cmds []*cli.Command) error {
	var names []string
	for _, cmd := range cmds {
		if !cmd.Hidden {
			names = append(names, cmd.Names()...)
		}
	}
	e := &cmdUsageError{cmd: path, msg: fmt.Sprintf("unknown command %q", name)}
	if s := closest(name, names); len(s) > 0 {
		e.msg += fmt.Sprintf("; did you mean %q?", s[0])
		for _, o := range s[1:] {
			e.msg += fmt.Sprintf(" or %q", o)
		}
		return e
	}
	help := "batchctl"
	if path != "" {
		help += " " + path
	}
	e.msg += fmt.Sprintf("; see '%s --help'", help)
	return e
}

// closest returns the candidates nearest to typed: within a few edits
// (insertions, deletions, substitutions, transpositions: "sumbit" is one
// from "submit"), or starting with it; at most three, best first.
func closest(typed string, candidates []string) []string {
	typed = strings.ToLower(typed)
	if len(typed) < 2 {
		return nil
	}
	limit := 1
	switch {
	case len(typed) > 7:
		limit = 3
	case len(typed) > 3:
		limit = 2
	}
	best, out := limit+1, []string(nil)
	for _, cand := range candidates {
		if slices.Contains(out, cand) {
			continue
		}
		d := editDistance(typed, strings.ToLower(cand))
		if len(typed) >= 3 && strings.HasPrefix(cand, typed) && d > 1 {
			d = 1
		}
		switch {
		case d < best:
			best, out = d, []string{cand}
		case d == best:
			out = append(out, cand)
		}
	}
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

// editDistance is the optimal string alignment distance of a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
