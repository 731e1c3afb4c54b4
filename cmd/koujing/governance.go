package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
	"github.com/koujing/koujing/webhook"
)

// storeFlags say where the metadata store keeps the versions of the definitions, the change
// requests and the audit log.
type storeFlags struct {
	store       string
	storeSchema string
	webhooks    listFlag
	// lease is what the webhook dispatchers of processes sharing the store take turns with,
	// set when the store is opened; nil for a store in memory, which no other process shares.
	lease webhook.Lease
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.store, "store", "", "the metadata store: a SQLite file (created if missing), or a postgres:// URL that replicas share.\nDefault: in memory, new at every start. A new store imports the definitions of --models (or the demo's)")
	fs.StringVar(&f.storeSchema, "store-schema", "public", "schema of the --store database holding the metadata tables, created if missing")
	fs.Var(&f.webhooks, "webhook", "URL told of every workflow event, signed with $"+webhookSecretEnv+" (repeat; domains may name their own)")
}

// webhookSecretEnv names the variable holding the secret webhook calls are signed with.
const webhookSecretEnv = "KOUJING_WEBHOOK_SECRET"

// isPostgresURL reports whether a --store or --policy-url value names a PostgreSQL database.
func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// openGovernance opens the metadata store the flags name and serves the definitions from it,
// importing the definitions files (those of models, or the demo's) into a new store. The caller
// calls the returned function when done.
func (f *storeFlags) openGovernance(ctx context.Context, r *layer, models string) (*semantic.Governance, func(), error) {
	files := fs.FS(demo.FS)
	if models != "" {
		files = os.DirFS(models)
	}
	seed, err := semantic.SplitDefinitions(files)
	if err != nil {
		return nil, nil, err
	}
	st, closeStore, err := f.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	gov, err := semantic.OpenGovernance(ctx, st, seed, semantic.GovernanceOptions{
		Resolver: semantic.SourcesResolver(r.sources), FileBase: models, Webhooks: f.webhooks,
	})
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	// The naming conventions beside the definitions check every change request.
	rules, err := semantic.ReadNamingRules(files)
	if err != nil {
		gov.Close()
		closeStore()
		return nil, nil, fmt.Errorf("naming rules: %w", err)
	}
	gov.SetNamingRules(rules)
	if differs := countDifferences(gov.Catalog(), seed); differs > 0 {
		slog.Info("the definitions files differ from the published definitions; koujing propose proposes them", "definitions", differs)
	}
	return gov, func() {
		gov.Close()
		closeStore()
	}, nil
}

// countDifferences counts the definitions of the files that are not published as they are.
func countDifferences(cat *semantic.Catalog, defs []semantic.Definition) int {
	n := 0
	for _, d := range defs {
		v, ok := cat.VersionOf(d.Kind, d.Name)
		h, err := d.Hash()
		if !ok || err != nil || v.Hash != h {
			n++
		}
	}
	return n
}

// openStore opens the store --store names: in memory, a SQLite file, or PostgreSQL.
func (f *storeFlags) openStore(ctx context.Context) (store.Store, func(), error) {
	if !isPostgresURL(f.store) {
		st, err := store.OpenSQLite(ctx, f.store)
		if err != nil {
			return nil, nil, fmt.Errorf("the metadata store %s: %w", orMemory(f.store), err)
		}
		slog.Info("metadata store", "sqlite", orMemory(f.store))
		if f.store != "" && f.store != ":memory:" {
			f.lease = webhook.NewFileLease(f.store + ".webhooks.lock")
		}
		return st, func() { st.Close() }, nil
	}
	cfg, err := pgxpool.ParseConfig(f.store)
	if err != nil {
		return nil, nil, usageError("--store: %v", err)
	}
	cfg.MaxConns = 8
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = postgres.DefaultConnectTimeout
	}
	cc := cfg.ConnConfig
	where := fmt.Sprintf("postgres://%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("the metadata store at %s: %w", where, err)
	}
	st, err := store.OpenPostgres(ctx, pool, store.PostgresOptions{Schema: f.storeSchema})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("the metadata store at %s: %w", where, err)
	}
	slog.Info("metadata store", "database", where, "schema", f.storeSchema)
	f.lease = webhook.NewPostgresLease(pool, f.storeSchema)
	return st, func() {
		st.Close()
		pool.Close()
	}, nil
}

func orMemory(path string) string {
	if path == "" {
		return "in memory"
	}
	return path
}
