// Command batchctl runs one Kubernetes Job manifest on a pluggable backend
// and reports one normalized status. See README.md.
package main

import (
	"context"
	"os"

	"github.com/batchctl/batchctl/backends/local"
)

func main() {
	// A local job's supervisor is this same binary, re-executed detached.
	local.MaybeSupervise()
	os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}
