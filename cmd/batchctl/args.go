package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// permuteArgs moves a command's flags ahead of its positional arguments, so
// `batchctl submit job.yaml --backend k8s` works as users expect: urfave/cli
// v2, like Go's flag package, stops parsing flags at the first positional.
// Everything after "--" is left alone.
func permuteArgs(app *cli.App, args []string) []string {
	// Shell completion asks with the flag last, and urfave looks for it there.
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	cmds := app.Commands
	for len(rest) > 0 {
		name := rest[0]
		if strings.HasPrefix(name, "-") {
			return append(out, rest...) // app-level flags: leave as given
		}
		cmd := findCommand(cmds, name)
		if cmd == nil {
			return append(out, rest...)
		}
		out = append(out, name)
		rest = rest[1:]
		if len(cmd.Subcommands) > 0 {
			cmds = cmd.Subcommands
			continue
		}
		return append(out, reorder(cmd, rest)...)
	}
	return out
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func reorder(cmd *cli.Command, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(append(flags, positional...), args[i:]...)
		case a == "-" || !strings.HasPrefix(a, "-"):
			positional = append(positional, a)
		default:
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(cmd, strings.TrimLeft(a, "-")) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return append(flags, positional...)
}

func takesValue(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				dv, ok := f.(cli.DocGenerationFlag)
				return ok && dv.TakesValue()
			}
		}
	}
	return false
}
