package demodata

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// forEachChunk calls fn(k) for every k in [0, n) on up to GOMAXPROCS goroutines and waits for
// them. It stops handing out chunks once ctx is done or a call fails, and returns the error of
// the lowest failing chunk, or ctx's error. fn must only write state owned by chunk k.
func forEachChunk(ctx context.Context, n int, fn func(k int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for !failed.Load() {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = fn(k)
				}
				if err != nil {
					errs[k] = err
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
