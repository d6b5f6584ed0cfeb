//go:build unix && !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package local

import "errors"

// waitExit cannot wait for a child without reaping it here.
func waitExit(int) error { return errors.ErrUnsupported }
