package authz

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/pgtest"
)

func openTestPostgresStore(t *testing.T, pool *pgxpool.Pool, schema string) *PostgresStore {
	t.Helper()
	s, err := OpenPostgresStore(t.Context(), pool, PostgresStoreOptions{Schema: schema})
	if err != nil {
		t.Fatalf("open the store in schema %s: %v", schema, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgresStoreConformance(t *testing.T) {
	pool := pgtest.Connect(t)
	runStoreConformance(t, func(t *testing.T) (Store, func(*testing.T) Store) {
		schema := pgtest.NewSchema(t, pool)
		again := func(t *testing.T) Store { return openTestPostgresStore(t, pool, schema) }
		return again(t), again
	})
}

func countRows(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPostgresStoreMigrationsAreIdempotent(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	s := openTestPostgresStore(t, pool, schema)
	mustApply(t, s, ruleChange(AddRule, conformanceRules[0], "root@acme"))
	s2 := openTestPostgresStore(t, pool, schema)
	if st := mustLoad(t, s2); len(st.Rules) != 1 {
		t.Errorf("opening again lost the rules: %v", st.Rules)
	}
	migrationsTable := pgx.Identifier{schema, "koujing_schema_migrations"}.Sanitize()
	if n := countRows(t, pool, `SELECT count(*) FROM `+migrationsTable+` WHERE component = 'authz'`); n != len(migrations) {
		t.Errorf("%d migrations recorded, want %d", n, len(migrations))
	}
}

func TestPostgresStoreConcurrentOpen(t *testing.T) {
	pool := pgtest.Connect(t)
	// A schema that does not exist yet: the stores create it.
	schema := pgtest.NewSchema(t, pool)
	if _, err := pool.Exec(t.Context(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	start := make(chan struct{})
	for i := range replicas {
		wg.Go(func() {
			<-start
			s, err := OpenPostgresStore(t.Context(), pool, PostgresStoreOptions{Schema: schema})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	migrationsTable := pgx.Identifier{schema, "koujing_schema_migrations"}.Sanitize()
	if n := countRows(t, pool, `SELECT count(*) FROM `+migrationsTable); n != len(migrations) {
		t.Errorf("%d migrations recorded, want %d", n, len(migrations))
	}
}

// unreachablePool returns a pool to the test server whose new connections go to a closed port
// while down is set, and the application name its sessions carry.
func unreachablePool(t *testing.T, schema string) (pool *pgxpool.Pool, down *atomic.Bool, appName string) {
	t.Helper()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	cfg, err := pgxpool.ParseConfig(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	down = new(atomic.Bool)
	var d net.Dialer
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if down.Load() {
			addr = closedAddr
		}
		return d.DialContext(ctx, network, addr)
	}
	appName = "koujing authz test " + schema
	cfg.ConnConfig.RuntimeParams["application_name"] = appName
	pool, err = pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, down, appName
}

func terminateSessions(t *testing.T, pool *pgxpool.Pool, appName string) int {
	t.Helper()
	return countRows(t, pool, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, appName)
}

func TestPostgresStoreUnavailable(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	storePool, down, appName := unreachablePool(t, schema)

	down.Store(true)
	if _, err := OpenPostgresStore(t.Context(), storePool, PostgresStoreOptions{Schema: schema}); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("open with the database unreachable: %v, want ErrStoreUnavailable", err)
	}
	down.Store(false)
	s := openTestPostgresStore(t, storePool, schema)
	mustApply(t, s, ruleChange(AddRule, conformanceRules[0], "root@acme"))

	// The database goes away: sessions end and new ones cannot be made.
	down.Store(true)
	if n := terminateSessions(t, pool, appName); n == 0 {
		t.Fatalf("the store has no sessions to end")
	}
	rules := pgx.Identifier{schema, "koujing_authz_rules"}.Sanitize()
	audit := pgx.Identifier{schema, "koujing_authz_audit"}.Sanitize()
	for _, c := range []Change{
		ruleChange(AddRule, conformanceRules[1], "root@acme"),
		ruleChange(RemoveRule, conformanceRules[0], "root@acme"),
		{Op: CreateAPIKey, Key: testKey("acme", "kdown"), Audit: AuditRecord{Actor: "root@acme"}},
	} {
		if _, err := s.Apply(t.Context(), c); !errors.Is(err, ErrStoreUnavailable) {
			t.Errorf("%s with the database unreachable: %v, want ErrStoreUnavailable", c.Op, err)
		}
	}
	if _, err := s.Load(t.Context()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("load with the database unreachable: %v, want ErrStoreUnavailable", err)
	}
	if _, err := s.Audit(t.Context(), AuditQuery{Tenant: "acme"}); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("audit with the database unreachable: %v, want ErrStoreUnavailable", err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM `+rules); n != 1 {
		t.Errorf("%d rules after failed changes, want 1", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM `+audit); n != 1 {
		t.Errorf("%d audit records after failed changes, want 1", n)
	}

	// Back, the store works again without being reopened.
	down.Store(false)
	mustApply(t, s, ruleChange(AddRule, conformanceRules[1], "root@acme"))
	if st := mustLoad(t, s); len(st.Rules) != 2 {
		t.Errorf("rules: %v", st.Rules)
	}
}

func TestPostgresStoreWatchReconnects(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	s := openTestPostgresStore(t, pool, schema)
	other := openTestPostgresStore(t, pool, schema)
	elsewhere := openTestPostgresStore(t, pool, pgtest.NewSchema(t, pool))
	fired := make(chan struct{}, 100)
	if err := s.Watch(t.Context(), func() { fired <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	expect := func(what string, want bool) {
		t.Helper()
		select {
		case <-fired:
			if !want {
				t.Errorf("Watch reported %s", what)
			}
		case <-time.After(5 * time.Second):
			if want {
				t.Fatalf("Watch did not report %s", what)
			}
		}
	}
	// A change in another schema is another store's business.
	mustApply(t, elsewhere, ruleChange(AddRule, conformanceRules[0], "root@acme"))
	select {
	case <-fired:
		t.Errorf("Watch reported a change in another schema")
	case <-time.After(300 * time.Millisecond):
	}

	// The listening session is ended; Watch reconnects, and says that it may have missed changes.
	if n := terminateSessions(t, pool, "koujing authz watch "+s.id); n != 1 {
		t.Fatalf("ended %d listening sessions, want 1", n)
	}
	expect("its reconnection", true)
	mustApply(t, other, ruleChange(AddRule, conformanceRules[0], "root@acme"))
	expect("a change after reconnecting", true)

	// After Close, no more calls.
	s.Close()
	mustApply(t, other, ruleChange(AddRule, conformanceRules[1], "root@acme"))
	select {
	case <-fired:
		t.Errorf("Watch reported a change after Close")
	case <-time.After(300 * time.Millisecond):
	}
	if n := countRows(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, "koujing authz watch "+s.id); n != 0 {
		t.Errorf("the listening session outlives Close")
	}
}

// TestPostgresStoreSeed seeds a new store from several replicas at once: one seeds it, whole,
// and the others leave it; a store emptied by its admins is not seeded again.
func TestPostgresStoreSeed(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	seed := make([]Change, len(conformanceRules))
	for i, r := range conformanceRules {
		seed[i] = ruleChange(AddRule, r, "koujing@seed")
	}

	// A seed with a bad change fails whole.
	s := openTestPostgresStore(t, pool, schema)
	bad := append(slices.Clone(seed), seed[0])
	if seeded, err := s.Seed(t.Context(), bad); seeded || !errors.Is(err, ErrRuleExists) {
		t.Errorf("a seed adding a rule twice: %v, %v; want ErrRuleExists", seeded, err)
	}
	if st := mustLoad(t, s); len(st.Rules) != 0 {
		t.Fatalf("a failed seed left %d rules", len(st.Rules))
	}

	const replicas = 4
	var wg sync.WaitGroup
	var seeders atomic.Int32
	start := make(chan struct{})
	for range replicas {
		s := openTestPostgresStore(t, pool, schema)
		wg.Go(func() {
			<-start
			seeded, err := s.Seed(t.Context(), seed)
			if err != nil {
				t.Errorf("seed: %v", err)
			}
			if seeded {
				seeders.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := seeders.Load(); n != 1 {
		t.Errorf("%d replicas seeded the store, want 1", n)
	}
	wantRules(t, s, nil, conformanceRules)
	if recs := allAudit(t, s, "acme", 100); len(recs) != len(conformanceRules) || recs[0].Actor != "koujing@seed" {
		t.Errorf("the seed's audit records: %v", recs)
	}

	for _, r := range conformanceRules {
		mustApply(t, s, ruleChange(RemoveRule, r, "root@acme"))
	}
	if seeded, err := s.Seed(t.Context(), seed); seeded || err != nil {
		t.Errorf("a store emptied by its admins was seeded again: %v, %v", seeded, err)
	}
}
