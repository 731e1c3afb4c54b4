package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// servingFlags are the flags of every command that serves callers — serve and mcp take the same
// ones: the definitions and their data, the access policy and how callers prove who they are,
// and the metadata store that governs the definitions.
type servingFlags struct {
	rt runtimeFlags
	af accessFlags
	sf storeFlags
	// dbtManifest is the dbt manifest.json whose jobs lineage follows upstream of the tables.
	dbtManifest string
	// qualitySchedule runs the quality rules that have a schedule while the process serves.
	qualitySchedule bool
}

func (f *servingFlags) register(fs *flag.FlagSet) {
	f.rt.register(fs)
	f.af.register(fs)
	f.sf.register(fs)
	fs.BoolVar(&f.qualitySchedule, "quality-schedule", true, "run the quality rules that have a schedule: once in each period of it across the replicas that share\nthe metadata store (--quality-schedule=false leaves them to other replicas, or to runs on demand)")
	fs.StringVar(&f.dbtManifest, "dbt-manifest", "", "a dbt project's target/manifest.json: lineage continues upstream of the warehouse's tables into the dbt\nmodels, seeds, snapshots and sources that build them, with their owners; read again when the file changes")
}

// open opens what the flags name: the definitions and their data, governed by the metadata
// store, the access policy, and the authenticator of callers. Changes made elsewhere (the policy
// file edited by hand, another replica's policy change or publication) apply without a restart
// until closeAll is called, which closes everything in the reverse order.
func (f *servingFlags) open(ctx context.Context) (r *layer, authn *authz.Authenticator, closeAll func(), err error) {
	rt, af, sf := &f.rt, &f.af, &f.sf
	if af.policy == "" && af.policyURL == "" && isPostgresURL(sf.store) {
		// Replicas sharing a metadata store share its policy too, unless told otherwise.
		af.policyURL, af.policySchema = sf.store, sf.storeSchema
	}
	if err := af.check(); err != nil {
		return nil, nil, nil, err
	}
	var closers []func()
	closeOpened := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeOpened()
		}
	}()
	if r, err = rt.load(ctx); err != nil {
		return nil, nil, nil, err
	}
	closers = append(closers, r.Close)
	var dbt *semantic.DBTManifestFile
	if f.dbtManifest != "" {
		if dbt, err = semantic.OpenDBTManifest(f.dbtManifest); err != nil {
			return nil, nil, nil, usageError("--dbt-manifest: %v", err)
		}
		r.options.DBTManifest = dbt.Manifest
		slog.Info("read the dbt manifest", "file", f.dbtManifest, "nodes", len(dbt.Manifest().Nodes), "version", dbt.Manifest().Version)
	}
	gov, closeStore, err := sf.openGovernance(ctx, r, rt.models)
	if err != nil {
		return nil, nil, nil, err
	}
	closers = append(closers, closeStore)
	r.govern(gov)
	// Every policy change this process stores is in the governance audit log too.
	af.changed = gov.RecordPolicyChange
	authorizer, closePolicy, err := af.openPolicy(ctx, r.service.Catalog, rt.models)
	if err != nil {
		return nil, nil, nil, err
	}
	closers = append(closers, closePolicy)
	if authn, err = af.authenticator(authorizer, rt.models == ""); err != nil {
		return nil, nil, nil, err
	}
	r.authorize(authorizer)
	// A change to the definitions must leave every tenant's access policy fitting them.
	gov.SetPolicyCheck(func(cat *semantic.Catalog) error { return semantic.CheckPolicy(cat, authorizer.Policy()) })
	// The policy file edited by hand, or another replica's change, applies without a restart.
	// Watch returns once it watches (the database's listener runs on, and reconnects, in its own
	// goroutine), so a replica that answers requests also hears of changes; the reload after it
	// takes in a change made between the first load and then, which no notification reports.
	watchCtx, stopWatching := context.WithCancel(ctx)
	closers = append(closers, stopWatching)
	if dbt != nil {
		dbt.Watch(watchCtx, slog.Default())
	}
	if err := authorizer.Watch(watchCtx); err != nil {
		slog.Error("watching the access policy failed; changes made elsewhere apply after a restart", "err", err)
	} else if err := authorizer.Reload(ctx); err != nil {
		return nil, nil, nil, err
	}
	// Definitions published on another replica serve here too.
	if err := gov.Watch(watchCtx); err != nil {
		slog.Error("watching the metadata store failed; definitions published elsewhere serve after a restart", "err", err)
	} else if err := gov.Reload(ctx); err != nil {
		return nil, nil, nil, err
	}
	if f.qualitySchedule {
		// It stops, giving its lease up, before the store closes.
		stop, err := startQualityScheduler(ctx, r.service)
		if err != nil {
			return nil, nil, nil, err
		}
		closers = append(closers, stop)
	}
	return r, authn, closeOpened, nil
}
