//go:build unix

package authz

import (
	"os"
	"syscall"
)

// lockExclusive takes an advisory lock on f, waiting for other processes to release theirs. The
// lock belongs to the open file, so it also excludes other FileStores of this process, and the
// system releases it when a process dies, however it dies.
func lockExclusive(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func unlockFile(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
