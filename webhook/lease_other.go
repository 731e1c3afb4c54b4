//go:build !unix

package webhook

import "os"

// tryLock takes the lock without checking: systems without flock run one dispatcher per file.
func tryLock(*os.File) error { return nil }

func unlock(*os.File) {}
