package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/all"
)

func newApp(reg *backends.Registry, stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "batchctl",
		Usage: "run one Kubernetes Job manifest on this machine, Kubernetes or Nomad",
		Description: "batchctl submits a batch/v1 Job manifest to a backend, waits for it, streams its logs\n" +
			"and reports one normalized status: succeeded, failed and active counts and a phase.\n\n" +
			"BACKENDS:\n" + backendList(reg) + "\n" +
			"Settings come from $XDG_CONFIG_HOME/batchctl/config.yaml (or --config), BATCHCTL_* environment\n" +
			"variables and flags, later winning, else the platforms' own conventions (NOMAD_ADDR, KUBECONFIG)\n" +
			"and built-in defaults; `batchctl config view` shows each with its source.",
		Version:                version,
		HideVersion:            true,
		EnableBashCompletion:   true,
		UseShortOptionHandling: true,
		Metadata:               map[string]any{registryKey: reg},
		Reader:                 stdin,
		Writer:                 stdout,
		ErrWriter:              stderr,
		CustomAppHelpTemplate:  cli.AppHelpTemplate + "\n" + exitCodesHelp + "\n",
		Commands: []*cli.Command{
			submitCommand(),
			statusCommand(),
			waitCommand(),
			logsCommand(),
			describeCommand(),
			eventsCommand(),
			listCommand(),
			deleteCommand(),
			retryCommand(),
			triggerCommand(),
			suspendCommand(),
			resumeCommand(),
			renderCommand(),
			validateCommand(),
			configCommand(),
			doctorCommand(),
			versionCommand(),
			completionCommand(),
		},
		// run() turns errors into exit codes; urfave must not exit by itself.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageMessage(c, err)
		},
		BashComplete: completeArgs,
	}
	app.Commands = append(app.Commands, manCommand()) // hidden: for release archives
	// Documented and parsed here; permuteArgs moves them after the command.
	app.Flags = globalFlags(app)
	setupCommands(app.Commands, app.OnUsageError, settingFlags(reg))
	return app
}

// backendList is the help text's list of backends, from the registry.
func backendList(reg *backends.Registry) string {
	var b strings.Builder
	for _, name := range reg.Names() {
		fmt.Fprintf(&b, "   %-8s %s\n", name, reg.Lookup(name).Usage)
	}
	return b.String()
}

// setupCommands gives every command the exit-code help and the app's usage
// error handler (urfave only consults the command's own, and without one it
// prints the whole help to stdout, where pipelines would read it as output),
// and every command that talks to a backend (it has --context) the flags of
// the registry's settings.
func setupCommands(cmds []*cli.Command, onUsage cli.OnUsageErrorFunc, setting []cli.Flag) {
	for _, cmd := range cmds {
		cmd.OnUsageError = onUsage
		if cmd.BashComplete == nil {
			cmd.BashComplete = completeArgs
		}
		for _, f := range cmd.Flags {
			if d, ok := f.(*cli.DurationFlag); ok && d.Action == nil {
				d.Action = checkDuration(d.Name)
			}
		}
		if slices.ContainsFunc(cmd.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), "context") }) {
			cmd.Flags = append(slices.Clone(setting), cmd.Flags...)
		}
		if len(cmd.Subcommands) > 0 {
			setupCommands(cmd.Subcommands, onUsage, setting)
		} else if cmd.CustomHelpTemplate == "" {
			cmd.CustomHelpTemplate = cli.CommandHelpTemplate + "\n" + exitCodesHelp + "\n"
		}
	}
}

// run executes one batchctl invocation over the shipped backends and
// returns its exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, all.Registry(), args, stdin, stdout, stderr)
}

// runWith is run over any registry.
func runWith(ctx context.Context, reg *backends.Registry, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(reg, stdin, stdout, stderr)
	if len(args) > 1 && args[len(args)-1] == completionFlag {
		return runCompletion(ctx, app, args)
	}
	var notFound error
	app.CommandNotFound = func(c *cli.Context, name string) {
		path, cmds := commandPath(c), c.App.Commands
		if c.Command != nil && c.Command.Name != "help" && len(c.Command.Subcommands) > 0 {
			cmds = c.Command.Subcommands
		} else {
			path = ""
		}
		notFound = commandNotFound(path, name, cmds)
	}
	args, err := permute(app, args)
	if err == nil {
		app.Metadata[argsKey] = args
		err = app.RunContext(ctx, args)
	}
	if notFound != nil {
		err = notFound
	}
	if err == nil {
		return exitOK
	}
	var cu *cmdUsageError
	if errors.As(err, &cu) {
		io.WriteString(stderr, cu.Error()+"\n")
		return exitUsage
	}
	if ec, ok := err.(cli.ExitCoder); ok {
		if msg := strings.TrimSpace(ec.Error()); msg != "" {
			io.WriteString(stderr, msg+"\n")
		}
		return ec.ExitCode()
	}
	// urfave's own parse errors (unknown command or flag) are usage errors.
	io.WriteString(stderr, "batchctl: "+err.Error()+"\n")
	return exitUsage
}
