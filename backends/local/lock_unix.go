//go:build unix

package local

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Locks are flock(2) locks: they belong to the open file description, so a
// lock taken by submit and inherited by the supervisor stays held until the
// last descriptor closes, and the kernel drops it when the holder dies.

// handoverLock: the submitting process takes the supervisor lock before the
// record exists and hands the descriptor to the supervisor, so there is no
// moment where a pending job looks abandoned.
const handoverLock = true

// lockExclusive blocks until f is locked exclusively.
func lockExclusive(f *os.File) error {
	return retryEINTR(func() error { return unix.Flock(int(f.Fd()), unix.LOCK_EX) })
}

// lockShared blocks until f is locked shared, i.e. no one holds it exclusively.
func lockShared(f *os.File) error {
	return retryEINTR(func() error { return unix.Flock(int(f.Fd()), unix.LOCK_SH) })
}

// tryLock takes the lock without blocking; ok is false when someone else holds
// a conflicting lock.
func tryLock(f *os.File, exclusive bool) (ok bool, err error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	err = retryEINTR(func() error { return unix.Flock(int(f.Fd()), how|unix.LOCK_NB) })
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func unlock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }

func retryEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// lockWithTimeout polls tryLock with short sleeps: far finer than bbolt's own
// 50ms retry, so a command waiting behind the supervisor's commit wakes quickly.
func lockWithTimeout(f *os.File, exclusive bool, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	sleep := 500 * time.Microsecond
	for {
		ok, err := tryLock(f, exclusive)
		if ok || err != nil {
			return ok, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(sleep)
		if sleep < 8*time.Millisecond {
			sleep *= 2
		}
	}
}
