//go:build unix

package local

import (
	"os"
	"syscall"
)

// controlSignals reach a supervisor: SIGTERM and SIGINT are Delete, SIGUSR1
// says a request (suspend, resume) is waiting in the job's directory.
var controlSignals = []os.Signal{syscall.SIGTERM, os.Interrupt, syscall.SIGUSR1}

func isControlSignal(sig os.Signal) bool { return sig == syscall.SIGUSR1 }

// notifySupervisor tells a live supervisor to look at its requests.
func notifySupervisor(pid int) error { return syscall.Kill(pid, syscall.SIGUSR1) }
