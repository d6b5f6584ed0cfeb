//go:build unix

package local

import (
	"os"
	"syscall"
)

// openNoFollow opens path, refusing a symbolic link in its last component:
// a link planted in the state directory must not redirect a job's files.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
}
