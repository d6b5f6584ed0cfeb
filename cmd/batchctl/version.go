package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

// Set by the release build: -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print batchctl's version",
		Flags: []cli.Flag{outputFlag("text or json (default text)")},
		Action: action(func(c *cli.Context) error {
			info := map[string]string{
				"version": version, "commit": commit, "date": date,
				"go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
			}
			switch c.String("output") {
			case "", "text":
				fmt.Fprintf(c.App.Writer, "batchctl %s (commit %s, built %s, %s %s)\n",
					version, commit, date, info["go"], info["platform"])
				return nil
			case outJSON:
				return writeJSON(c.App.Writer, info)
			default:
				return usagef("unknown output format %q (use text, json)", c.String("output"))
			}
		}),
	}
}
