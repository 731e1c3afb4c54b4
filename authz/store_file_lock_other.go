//go:build !unix

package authz

import "os"

// lockExclusive does nothing where flock is not available: there, several processes must not
// write one policy file at once (see FileStore).
func lockExclusive(f *os.File) error { return nil }

func unlockFile(f *os.File) {}
