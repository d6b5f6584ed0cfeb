//go:build !linux

package local

// totalMemory is unknown here: a resourceFieldRef to an unset memory limit
// reads 0.
func totalMemory() int64 { return 0 }
