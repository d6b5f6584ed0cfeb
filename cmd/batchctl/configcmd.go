package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/config"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "inspect and change batchctl's configuration",
		Subcommands: []*cli.Command{getContextsCommand(), useContextCommand(), setCommand(), {
			Name:  "view",
			Usage: "show every setting in force and where it came from (secrets redacted)",
			Description: "Layers, later winning: the config file, the selected context, BATCHCTL_* environment\n" +
				"variables, command-line flags. A setting none of them sets comes from the platform's own\n" +
				"convention (NOMAD_ADDR, KUBECONFIG and its current-context, XDG_STATE_HOME), else its default.",
			Flags: append(connectionFlags(), outputFlag("table, json, yaml (default table)")),
			Action: action(func(c *cli.Context) error {
				format := c.String("output")
				if format == "" {
					format = outTable
				}
				if err := checkOutput(format, outTable, outJSON, outYAML); err != nil {
					return err
				}
				s, err := loadSettings(c)
				if err != nil {
					return err
				}
				values := s.Values()
				for i := range values {
					if values[i].Secret && values[i].Value != "" {
						values[i].Value = config.Redacted
					}
				}
				view := struct {
					File          string         `json:"file"`
					Context       string         `json:"context"`
					ContextSource string         `json:"contextSource,omitempty"`
					Values        []config.Value `json:"values"`
				}{s.File, s.Context, s.ContextSource, values}
				if ok, err := writeStructured(c.App.Writer, format, view); ok {
					return err
				}
				w := c.App.Writer
				ctx := orDash(s.Context)
				if s.ContextSource != "" {
					ctx += " (from " + s.ContextSource + ")"
				}
				fmt.Fprintf(w, "file:    %s\ncontext: %s\n\n", orDash(s.File), ctx)
				tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
				fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
				for _, v := range values {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Key, orDash(v.Value), v.Source)
				}
				return tw.Flush()
			}),
		}},
	}
}

// fileFlag is --config for the commands that write the file.
func fileFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "config file (default $XDG_CONFIG_HOME/batchctl/config.yaml)"}
}

func getContextsCommand() *cli.Command {
	return &cli.Command{
		Name:  "get-contexts",
		Usage: "list the contexts of the config file; * marks the one in force",
		Flags: []cli.Flag{fileFlag(), &cli.StringFlag{Name: "context", Usage: "the context in force, as on other commands"},
			outputFlag("table, json, name (default table)")},
		Action: action(func(c *cli.Context) error {
			format := c.String("output")
			if format == "" {
				format = outTable
			}
			if err := checkOutput(format, outTable, outJSON, outName); err != nil {
				return err
			}
			path, err := config.FilePath(c.String("config"), nil)
			if err != nil {
				return usageError{err.Error()}
			}
			contexts, current, err := config.Contexts(path)
			if err != nil {
				return usageError{err.Error()}
			}
			if v := c.String("context"); v != "" {
				current = v
			} else if v := os.Getenv("BATCHCTL_CONTEXT"); v != "" {
				current = v
			}
			switch format {
			case outJSON:
				if contexts == nil {
					contexts = []config.Context{}
				}
				return writeJSON(c.App.Writer, struct {
					File     string           `json:"file"`
					Current  string           `json:"current"`
					Contexts []config.Context `json:"contexts"`
				}{path, current, contexts})
			case outName:
				for _, ctx := range contexts {
					fmt.Fprintln(c.App.Writer, ctx.Name)
				}
				return nil
			}
			if len(contexts) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "no contexts in %s\n", path)
				return nil
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "CURRENT\tNAME\tBACKEND\tNAMESPACE")
			for _, ctx := range contexts {
				mark := ""
				if ctx.Name == current {
					mark = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", mark, ctx.Name, orDash(ctx.Settings["backend"]), orDash(ctx.Settings["namespace"]))
			}
			return tw.Flush()
		}),
	}
}

func useContextCommand() *cli.Command {
	return &cli.Command{
		Name:      "use-context",
		Usage:     "make a context the file's current-context",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{fileFlag()},
		Action: action(func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("use-context: one context NAME is required")
			}
			name := c.Args().First()
			path, err := config.FilePath(c.String("config"), nil)
			if err != nil {
				return usageError{err.Error()}
			}
			contexts, _, err := config.Contexts(path)
			if err != nil {
				return usageError{err.Error()}
			}
			var known []string
			for _, ctx := range contexts {
				known = append(known, ctx.Name)
			}
			if !slices.Contains(known, name) {
				return usagef("use-context: context %q is not defined in %s (defined: %s)", name, path, orNone(strings.Join(known, ", ")))
			}
			if err := config.SetInFile(path, "current-context", name); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "current context: %s\n", name)
			return nil
		}),
	}
}

func setCommand() *cli.Command {
	return &cli.Command{
		Name:      "set",
		Usage:     "set a key in the config file, keeping its comments: KEY is a setting, contexts.NAME.KEY or current-context",
		ArgsUsage: "KEY VALUE",
		Flags:     []cli.Flag{fileFlag()},
		Action: action(func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usagef("set: KEY and VALUE are required")
			}
			key, value := c.Args().Get(0), c.Args().Get(1)
			if err := config.CheckKey(registryOf(c).Settings(), key, value); err != nil {
				return usageError{err.Error()}
			}
			path, err := config.FilePath(c.String("config"), nil)
			if err != nil {
				return usageError{err.Error()}
			}
			if err := config.SetInFile(path, key, value); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s set in %s\n", key, path)
			return nil
		}),
	}
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
