package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/config"
	"github.com/batchctl/batchctl/jobspec"
)

// settings are the resolved configuration a command runs with.
type settings struct {
	Namespace string // -n or the context's; "" lets the backend choose
	*config.Resolved
}

// registryKey holds the app's backend registry in cli.App.Metadata, so a
// test can run the CLI over a registry holding a backend of its own.
const registryKey = "registry"

func registryOf(c *cli.Context) *backends.Registry {
	return c.App.Metadata[registryKey].(*backends.Registry)
}

// connectionFlags are accepted by every command that talks to a backend;
// setupCommands adds one flag per setting that declares one (--backend,
// --namespace, --kubeconfig, ...), from the registry.
func connectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "context", Usage: "batchctl config context to use"},
		&cli.StringFlag{Name: "config", Usage: "config file (default $XDG_CONFIG_HOME/batchctl/config.yaml)"},
	}
}

// settingFlags are the flags the registry's settings declare. Flags read no
// environment variables themselves: config.Load owns BATCHCTL_*, so there
// is one env mechanism, not two.
func settingFlags(reg *backends.Registry) []cli.Flag {
	var out []cli.Flag
	for _, s := range reg.Settings() {
		if s.Flag == "" {
			continue
		}
		f := &cli.StringFlag{Name: s.Flag, Usage: s.Help}
		if s.Alias != "" {
			f.Aliases = []string{s.Alias}
		}
		out = append(out, f)
	}
	return out
}

func outputFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: usage}
}

func timeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Usage: "give up waiting after this long (exit 5; the job keeps running); 0 waits forever"}
}

// loadSettings merges config layers with the setting flags set on c.
func loadSettings(c *cli.Context) (settings, error) {
	reg := registryOf(c)
	flags := map[string]string{}
	for _, s := range reg.Settings() {
		if s.Flag != "" && c.IsSet(s.Flag) {
			flags[s.Key] = c.String(s.Flag)
		}
	}
	res, err := config.Load(config.Options{
		Settings:   reg.Settings(),
		ConfigFile: c.String("config"),
		Context:    c.String("context"),
		Flags:      flags,
	})
	if err != nil {
		return settings{}, usageError{err.Error()}
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(c.App.ErrWriter, "batchctl: warning:", w)
	}
	return settings{Namespace: res.String(backends.NamespaceKey), Resolved: res}, nil
}

// openBackend resolves settings and builds the backend they name.
func openBackend(c *cli.Context) (backends.Backend, settings, error) {
	s, err := loadSettings(c)
	if err != nil {
		return nil, s, err
	}
	// An unknown backend name is a usage error (the registry says so with
	// ErrInvalid); a backend that cannot start is a backend error.
	b, err := registryOf(c).New(s.View, c.App.ErrWriter)
	if err != nil {
		return nil, s, err
	}
	return b, s, nil
}

// refFor names a job given on the command line: NAME, NAMESPACE/NAME, or
// either behind "job/" (or "cronjob/", see cronjob.go), so what -q and -o
// name print can be piped back in. A namespace in the argument beats -n.
func refFor(arg string, s settings) backends.Ref {
	_, arg = splitKind(arg)
	if ns, name, ok := strings.Cut(arg, "/"); ok {
		return backends.Ref{Name: name, Namespace: ns}
	}
	return backends.Ref{Name: arg, Namespace: s.Namespace}
}

// jobArg is how a job is printed for piping back into batchctl: its name,
// qualified by its namespace when that is not the one in force.
func jobArg(st *backends.Status, s settings, info backends.Info) string {
	inForce := s.Namespace
	if inForce == "" {
		inForce = info.DefaultNamespace
	}
	// A name with a slash (a Nomad CronJob's run, "NAME/periodic-TIME")
	// reads back only with its namespace.
	if st.Namespace == "" || (st.Namespace == inForce && !strings.Contains(st.Name, "/")) {
		return st.Name
	}
	return st.Namespace + "/" + st.Name
}

// refArg is jobArg for a ref.
func refArg(ref backends.Ref, s settings, info backends.Info) string {
	return jobArg(&backends.Status{Name: ref.Name, Namespace: ref.Namespace}, s, info)
}

// oneName returns the single NAME argument of c.
func oneName(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 1:
		return c.Args().First(), nil
	case 0:
		return "", usagef("%s: a job NAME is required", c.Command.Name)
	default:
		return "", usagef("%s: takes one job NAME, got %d arguments", c.Command.Name, c.NArg())
	}
}

// loadJob reads a manifest argument. A file that cannot be read is the
// user's mistake (exit 2), like an invalid one.
func loadJob(path string, stdin io.Reader) (*jobspec.Job, error) {
	job, err := jobspec.Load(path, stdin)
	var list jobspec.ErrorList
	if err != nil && !errors.As(err, &list) {
		return nil, usageError{err.Error()}
	}
	return job, err
}

// loadJobs reads a manifest of one or more Jobs ("---"-separated
// documents, or a List): all valid, or none returned.
func loadJobs(path string, stdin io.Reader) ([]*jobspec.Job, error) {
	jobs, err := jobspec.LoadAll(path, stdin)
	var list jobspec.ErrorList
	if err != nil && !errors.As(err, &list) {
		return nil, usageError{err.Error()}
	}
	return jobs, err
}
