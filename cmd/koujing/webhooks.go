package main

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/webhook"
)

// startWebhooks runs the dispatcher of the metadata store's webhook outbox, signing calls with
// $KOUJING_WEBHOOK_SECRET, until the returned function is called, which returns once it has
// stopped. Replicas sharing the store take turns through the store's lease.
func (f *storeFlags) startWebhooks(ctx context.Context, gov *semantic.Governance) (stop func()) {
	secret := os.Getenv(webhookSecretEnv)
	if secret == "" {
		slog.Warn("no " + webhookSecretEnv + ": webhook calls are sent unsigned, and receivers cannot tell them from forgeries")
	}
	d := webhook.New(gov.Store(), webhook.Options{Secret: []byte(secret), Lease: f.lease, Logger: slog.Default()})
	return runInBackground(ctx, d.Run)
}

// runInBackground calls run in a goroutine of its own until the returned function is called,
// which cancels run's context and returns once run has.
func runInBackground(ctx context.Context, run func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		run(ctx)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}
