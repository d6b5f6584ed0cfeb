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
	for _, cmd := range app.Commands {
		if cmd.CustomHelpTemplate == "" && len(cmd.Subcommands) == 0 {
			cmd.CustomHelpTemplate = cli.CommandHelpTemplate + "\n" + exitCodesHelp + "\n"
		}
	}
	return app
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
