package local

import "os"

// openNoFollow: creating a symbolic link needs privileges on Windows, so a
// planted one is not the threat it is on unix; plain open.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}
