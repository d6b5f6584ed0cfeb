package local

import (
	"errors"
	"os"
)

// Windows has no signals for this: the supervisor finds requests by
// looking at its directory every second (checkInterval).
var controlSignals = []os.Signal{os.Interrupt}

func isControlSignal(os.Signal) bool { return false }

func notifySupervisor(int) error { return errors.ErrUnsupported }
