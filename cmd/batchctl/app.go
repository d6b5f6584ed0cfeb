package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "batchctl",
		Usage: "run one Kubernetes Job manifest on this machine, Kubernetes or Nomad",
		Description: "batchctl submits a batch/v1 Job manifest to a backend (local, k8s, nomad), waits for it,\n" +
			"streams its logs and reports one normalized status: succeeded, failed and active counts and a phase.\n\n" +
			"Settings come from built-in defaults, $XDG_CONFIG_HOME/batchctl/config.yaml (or --config),\n" +
			"BATCHCTL_* environment variables and flags, later winning; see `batchctl config view`.",
		Version:                version,
		HideVersion:            true,
		EnableBashCompletion:   true,
		UseShortOptionHandling: true,
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
			listCommand(),
			deleteCommand(),
			renderCommand(),
			validateCommand(),
			configCommand(),
			versionCommand(),
			completionCommand(),
		},
		// run() turns errors into exit codes; urfave must not exit by itself.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return cli.Exit("batchctl: "+err.Error(), exitUsage)
		},
	}
	setupCommands(app.Commands, app.OnUsageError)
	return app
}

// setupCommands gives every command the exit-code help and the app's usage
// error handler: urfave only consults the command's own, and without one it
// prints the whole help to stdout, where pipelines would read it as output.
func setupCommands(cmds []*cli.Command, onUsage cli.OnUsageErrorFunc) {
	for _, cmd := range cmds {
		cmd.OnUsageError = onUsage
		if len(cmd.Subcommands) > 0 {
			setupCommands(cmd.Subcommands, onUsage)
		} else if cmd.CustomHelpTemplate == "" {
			cmd.CustomHelpTemplate = cli.CommandHelpTemplate + "\n" + exitCodesHelp + "\n"
		}
	}
}

// run executes one batchctl invocation and returns its exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	unknown := ""
	app.CommandNotFound = func(_ *cli.Context, name string) { unknown = name }
	err := app.RunContext(ctx, permuteArgs(app, args))
	if unknown != "" {
		fmt.Fprintf(stderr, "batchctl: unknown command %q; see 'batchctl --help'\n", unknown)
		return exitUsage
	}
	if err == nil {
		return exitOK
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
