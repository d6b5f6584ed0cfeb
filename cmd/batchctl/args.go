package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

// permuteArgs moves a command's flags ahead of its positional arguments, so
// `batchctl submit job.yaml --backend k8s` works as users expect: urfave/cli
// v2, like Go's flag package, stops parsing flags at the first positional.
// Global flags given before the command (`batchctl --backend local list`)
// move after it. Everything after "--" is left alone.
func permuteArgs(app *cli.App, args []string) []string {
	out, _ := permute(app, args)
	return out
}

// permute is permuteArgs, also reporting a flag left without its value
// (`status slow -o`), which moving the flag would otherwise hide: -o would
// take "slow".
func permute(app *cli.App, args []string) ([]string, error) {
	// Shell completion asks with the flag last, and urfave looks for it there.
	if len(args) < 2 || args[len(args)-1] == completionFlag {
		return args, nil
	}
	line, err := splitCommandLine(app, args[1:])
	if err != nil {
		return args, err
	}
	out := append([]string{args[0]}, line.path...)
	if line.cmd == nil || len(line.cmd.Subcommands) > 0 {
		// No command, an unknown one, or a group without its subcommand:
		// urfave shows help or reports it; global flags have nothing to
		// apply to.
		return append(out, line.rest...), nil
	}
	rest, err := reorder(line.cmd, append(line.globals, line.rest...))
	if e, ok := err.(*cmdUsageError); ok {
		e.cmd = strings.Join(line.path, " ")
	}
	return append(out, rest...), err
}

// commandLine is a command line split at its command.
type commandLine struct {
	path    []string     // the command's names as typed: "config", "view"
	cmd     *cli.Command // what path names; nil when none or unknown
	unknown bool         // a word in command position names no command
	globals []string     // global flags given before the command, with values
	rest    []string     // everything after the command path
}

// splitCommandLine finds the command in args (without the program name),
// taking the global flags (globalFlags) given before it or between a
// group's name and its subcommand's.
func splitCommandLine(app *cli.App, args []string) (commandLine, error) {
	var line commandLine
	globals := globalFlags(app)
	cmds := app.Commands
	rest := args
	for len(rest) > 0 {
		a := rest[0]
		if isFlagArg(a) {
			f := lookupFlag(globals, flagArgName(a))
			if f == nil {
				break // not a global flag (--help, a typo): urfave decides
			}
			if takesValue(f) && !strings.Contains(a, "=") {
				if len(rest) < 2 {
					return line, flagNeedsValue(a)
				}
				line.globals = append(line.globals, a, rest[1])
				rest = rest[2:]
			} else {
				line.globals = append(line.globals, a)
				rest = rest[1:]
			}
			continue
		}
		if strings.HasPrefix(a, "-") { // "-" or "--"
			break
		}
		cmd := findCommand(cmds, a)
		if cmd == nil {
			line.unknown = true
			break
		}
		line.path = append(line.path, a)
		line.cmd = cmd
		rest = rest[1:]
		if len(cmd.Subcommands) == 0 {
			break
		}
		cmds = cmd.Subcommands
	}
	line.rest = rest
	return line, nil
}

// globalFlags are the flags accepted before the command: every command
// that talks to a backend takes them (see setupCommands).
func globalFlags(app *cli.App) []cli.Flag {
	reg, _ := app.Metadata[registryKey].(*backends.Registry)
	if reg == nil {
		return connectionFlags()
	}
	return append(settingFlags(reg), connectionFlags()...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// reorder puts cmd's flags (with their values) before its positionals. A
// last flag missing its value is an error.
func reorder(cmd *cli.Command, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(append(flags, positional...), args[i:]...), nil
		case !isFlagArg(a):
			positional = append(positional, a)
		default:
			flags = append(flags, a)
			if !strings.Contains(a, "=") && argTakesValue(cmd.Flags, a) {
				if i+1 == len(args) {
					return append(flags, positional...), flagNeedsValue(a)
				}
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return append(flags, positional...), nil
}

// isFlagArg tells a flag ("-o", "--output=json") from a positional, "-"
// (stdin) and "--".
func isFlagArg(a string) bool {
	return strings.HasPrefix(a, "-") && a != "-" && a != "--"
}

// flagArgName is the flag's name in a flag argument: "output" in
// "--output=json".
func flagArgName(a string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	return name
}

// argTakesValue reports whether the flag argument a (without "=") is
// followed by its value: a flag of flags that takes one, or a group of
// one-letter flags ("-qo") whose last one does.
func argTakesValue(flags []cli.Flag, a string) bool {
	name := flagArgName(a)
	if f := lookupFlag(flags, name); f != nil {
		return takesValue(f)
	}
	if strings.HasPrefix(a, "--") || len(name) < 2 {
		return false
	}
	for _, r := range name {
		if lookupFlag(flags, string(r)) == nil {
			return false
		}
	}
	return takesValue(lookupFlag(flags, name[len(name)-1:]))
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	dv, ok := f.(cli.DocGenerationFlag)
	return ok && dv.TakesValue()
}
