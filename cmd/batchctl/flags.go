package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/all"
	"github.com/batchctl/batchctl/config"
	"github.com/batchctl/batchctl/jobspec"
)

// settingFlags maps flags to config keys: a flag the user set becomes the
// top configuration layer. Flags read no environment variables themselves —
// config.Load owns BATCHCTL_*, so there is one env mechanism, not two.
var settingFlags = map[string]string{
	"backend":      "backend",
	"namespace":    "namespace",
	"kubeconfig":   "k8s.kubeconfig",
	"kube-context": "k8s.context",
}

// connectionFlags are accepted by every command that talks to a backend.
func connectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "backend", Aliases: []string{"b"}, Usage: "backend: local, k8s or nomad (default from config, else local)"},
		&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "namespace"},
		&cli.StringFlag{Name: "context", Usage: "batchctl config context to use"},
		&cli.StringFlag{Name: "config", Usage: "config file (default $XDG_CONFIG_HOME/batchctl/config.yaml)"},
		&cli.StringFlag{Name: "kubeconfig", Usage: "kubeconfig file for the k8s backend"},
		&cli.StringFlag{Name: "kube-context", Usage: "kubeconfig context for the k8s backend"},
	}
}

func outputFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: usage}
}

func timeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Usage: "give up waiting after this long (exit 5; the job keeps running); 0 waits forever"}
}

// loadSettings merges config layers with the flags set on c.
func loadSettings(c *cli.Context) (*config.Resolved, error) {
	flags := map[string]string{}
	for flag, key := range settingFlags {
		if c.IsSet(flag) {
			flags[key] = c.String(flag)
		}
	}
	res, err := config.Load(config.Options{
		ConfigFile: c.String("config"),
		Context:    c.String("context"),
		Flags:      flags,
	})
	if err == nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(c.App.ErrWriter, "batchctl: warning:", w)
		}
	}
	return res, err
}

// openBackend resolves settings and builds the backend they name.
func openBackend(c *cli.Context) (backends.Backend, config.Settings, error) {
	res, err := loadSettings(c)
	if err != nil {
		return nil, config.Settings{}, usageError{err.Error()}
	}
	// An unknown backend name is a usage error (the registry says so with
	// ErrInvalid); a backend that cannot start is a backend error.
	b, err := all.Registry().New(res.Settings.Backend, res.Settings, c.App.ErrWriter)
	if err != nil {
		return nil, res.Settings, err
	}
	return b, res.Settings, nil
}

// refFor names a job given on the command line: NAME, NAMESPACE/NAME, or
// either behind "job/", so what -q and -o name print can be piped back in.
// A namespace in the argument beats -n.
func refFor(arg string, s config.Settings) backends.Ref {
	arg = strings.TrimPrefix(arg, "job/")
	if ns, name, ok := strings.Cut(arg, "/"); ok {
		return backends.Ref{Name: name, Namespace: ns}
	}
	return backends.Ref{Name: arg, Namespace: s.Namespace}
}

// jobArg is how a job is printed for piping back into batchctl: its name,
// qualified by its namespace when that is not the one in force.
func jobArg(st *backends.Status, s config.Settings, info backends.Info) string {
	inForce := s.Namespace
	if inForce == "" {
		inForce = info.DefaultNamespace
	}
	if st.Namespace == "" || st.Namespace == inForce {
		return st.Name
	}
	return st.Namespace + "/" + st.Name
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
