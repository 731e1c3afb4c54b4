package semantic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/koujing/koujing/semantic/store"
)

// QualitySchedulerLease is the name of the lease the schedulers of replicas sharing a metadata
// store take turns with.
const QualitySchedulerLease = "quality-scheduler"

// QualitySchedulerOptions configure a QualityScheduler. The zero value of each field picks its
// default.
type QualitySchedulerOptions struct {
	// PollInterval is how often the scheduler looks for rules that are due; default 30s.
	PollInterval time.Duration
	// LeaseTTL is how long the lease lasts unless renewed; default 2m, and at least twice
	// PollInterval, so that a live holder renews it in time. A replica that dies holding it
	// leaves it to the others after LeaseTTL.
	LeaseTTL time.Duration
	// Holder names this replica in the lease; default a random name.
	Holder string
	// Now is the clock; default the governance's.
	Now func() time.Time
	// Logger receives the runs that fail or cross a red line, and the scheduler's own failures;
	// default the governance's logger.
	Logger *slog.Logger
}

// QualityScheduler runs each quality rule that has a schedule once in every period of it. A
// rule's periods are its interval counted from 0001-01-01 UTC, as time.Truncate counts them: an
// hourly rule runs once in each clock hour, a daily one once each UTC day. Replicas sharing a
// metadata store run their schedulers together: one at a time holds the store's lease and runs
// what is due, and each period of a rule is claimed in the store before it runs, so that a rule
// runs once per period even when the lease changes hands in between. A period missed while no
// replica ran is not made up: the rule runs once in the next.
type QualityScheduler struct {
	svc  *Service
	opts QualitySchedulerOptions
	log  *slog.Logger
}

// NewQualityScheduler returns the scheduler of a governed service's quality rules.
func NewQualityScheduler(svc *Service, opts QualitySchedulerOptions) (*QualityScheduler, error) {
	g := svc.Governance()
	if g == nil {
		return nil, errQualityNeedsStore
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 30 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 2 * time.Minute
	}
	opts.LeaseTTL = max(opts.LeaseTTL, 2*opts.PollInterval)
	if opts.Holder == "" {
		var b [8]byte
		rand.Read(b[:])
		opts.Holder = "replica-" + hex.EncodeToString(b[:])
	}
	if opts.Now == nil {
		opts.Now = g.opts.Now
	}
	if opts.Logger == nil {
		opts.Logger = g.log
	}
	return &QualityScheduler{svc: svc, opts: opts, log: opts.Logger.With("component", "quality", "holder", opts.Holder)}, nil
}

// Run runs the rules that are due every PollInterval until ctx ends, then gives the lease up.
func (q *QualityScheduler) Run(ctx context.Context) {
	defer func() {
		release, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := q.svc.Governance().store.ReleaseLease(release, QualitySchedulerLease, q.opts.Holder); err != nil {
			q.log.Warn("the quality scheduler's lease could not be released; another replica takes it when it runs out", "err", err)
		}
	}()
	tick := time.NewTicker(q.opts.PollInterval)
	defer tick.Stop()
	for {
		if _, err := q.RunDue(ctx); err != nil && ctx.Err() == nil {
			q.log.Error("the quality scheduler could not run the rules due", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunDue runs, one after another, the scheduled rules of the published definitions whose
// current period this replica claims, if it holds the lease, and returns their runs. It does
// nothing when another replica holds the lease.
func (q *QualityScheduler) RunDue(ctx context.Context) ([]store.QualityRun, error) {
	g := q.svc.Governance()
	now := q.opts.Now()
	held, err := g.store.HoldLease(ctx, QualitySchedulerLease, q.opts.Holder, now, q.opts.LeaseTTL)
	if err != nil || !held {
		return nil, err
	}
	cat := g.Catalog()
	var runs []store.QualityRun
	var errs []error
	for _, r := range cat.QualityRules() {
		if r.Schedule <= 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return runs, err
		}
		var claimed bool
		err := g.store.Update(ctx, func(tx store.Tx) error {
			var err error
			claimed, err = tx.ClaimSlot("quality:"+r.Name, now.UTC().Truncate(r.Schedule))
			return err
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !claimed {
			continue
		}
		run, err := q.svc.runQualityRule(ctx, cat, r, store.TriggerSchedule, QualityActor, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if run.Status != store.QualityPass {
			q.log.Warn("a scheduled quality check did not pass", "rule", r.Name, "status", run.Status, "detail", run.Detail)
		}
		runs = append(runs, run)
	}
	return runs, errors.Join(errs...)
}
