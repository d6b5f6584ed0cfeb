//go:build unix

// Command nomad-up starts a detached Nomad test agent for a developer
// (make nomad-up) and prints its export line; -down stops it (make nomad-down).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/batchctl/batchctl/e2e/nomadagent"
)

func main() {
	bin := flag.String("bin", ".cache/nomad/bin/nomad", "nomad binary")
	dir := flag.String("dir", ".cache/nomad/run", "work dir: config, log, state")
	persistent := flag.Bool("persistent", false, "server+client with on-disk state (survives restarts) instead of -dev")
	down := flag.Bool("down", false, "stop the agent recorded in -dir")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("nomad-up: ")
	logf := func(f string, a ...any) { log.Printf(f, a...) }

	if *down {
		a, err := nomadagent.Load(*dir, logf)
		if os.IsNotExist(err) {
			log.Print("no agent recorded in ", *dir)
			return
		} else if err != nil {
			log.Fatal(err)
		}
		if err := a.Stop(); err != nil {
			log.Fatal(err)
		}
		log.Printf("stopped pids %v; logs kept in %s", a.PIDs(), *dir)
		return
	}

	if a, err := nomadagent.Load(*dir, logf); err == nil {
		if a.Running() {
			log.Printf("already running (pids %v)", a.PIDs())
			fmt.Printf("export NOMAD_ADDR=%s\n", a.Addr)
			return
		}
		if err := a.Stop(); err != nil { // stale record: clean up what it left
			log.Fatal(err)
		}
	}
	a, err := nomadagent.Start(context.Background(), nomadagent.Options{
		Binary: *bin, WorkDir: *dir, Logf: logf, Persistent: *persistent, Detach: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("export NOMAD_ADDR=%s\n", a.Addr)
}
