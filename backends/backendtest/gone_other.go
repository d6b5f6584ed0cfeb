//go:build !unix

package backendtest

import "os"

// processGone reports whether pid has exited.
func processGone(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	p.Release()
	return false
}
