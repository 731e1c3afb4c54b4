package store

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/pgtest"
)

func openTestPostgres(t *testing.T, pool *pgxpool.Pool, schema string) *SQLStore {
	t.Helper()
	s, err := OpenPostgres(t.Context(), pool, PostgresOptions{Schema: schema})
	if err != nil {
		t.Fatalf("open the store in schema %s: %v", schema, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgresConformance(t *testing.T) {
	pool := pgtest.Connect(t)
	runStoreConformance(t, func(t *testing.T) (Store, func(*testing.T) Store) {
		schema := pgtest.NewSchema(t, pool)
		again := func(t *testing.T) Store { return openTestPostgres(t, pool, schema) }
		return again(t), again
	})
}

func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Replicas of both components that keep tables in one schema, started together on a schema
// that does not exist yet, create it and the migrations table once and migrate each component
// once.
func TestPostgresMigratesBesideAuthz(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	if _, err := pool.Exec(t.Context(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	const replicas = 4
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 * replicas {
		wg.Go(func() {
			<-start
			var err error
			if i%2 == 0 {
				var s *SQLStore
				if s, err = OpenPostgres(t.Context(), pool, PostgresOptions{Schema: schema}); err == nil {
					s.Close()
				}
			} else {
				var s *authz.PostgresStore
				if s, err = authz.OpenPostgresStore(t.Context(), pool, authz.PostgresStoreOptions{Schema: schema}); err == nil {
					s.Close()
				}
			}
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	table := pgx.Identifier{schema, "koujing_schema_migrations"}.Sanitize()
	if n := count(t, pool, `SELECT count(*) FROM `+table+` WHERE component = 'semantic'`); n != len(migrations) {
		t.Errorf("%d semantic migrations recorded, want %d", n, len(migrations))
	}
	if n := count(t, pool, `SELECT count(*) FROM `+table+` WHERE component = 'authz'`); n == 0 {
		t.Errorf("no authz migrations recorded")
	}
	s := openTestPostgres(t, pool, schema)
	insertVersions(t, s, metric("gmv", Published))
}

// flakyPool returns a pool to the test server whose new connections go to a closed port while
// down is set, and the application name its sessions carry.
func flakyPool(t *testing.T, name string) (pool *pgxpool.Pool, down *atomic.Bool, appName string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := l.Addr().String()
	l.Close()
	cfg, err := pgxpool.ParseConfig(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	down, appName = new(atomic.Bool), "koujing semantic store test "+name
	cfg.ConnConfig.RuntimeParams["application_name"] = appName
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if down.Load() {
			addr = nowhere
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	if pool, err = pgxpool.NewWithConfig(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, down, appName
}

func TestPostgresUnavailable(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	flaky, down, appName := flakyPool(t, schema)

	down.Store(true)
	if _, err := OpenPostgres(t.Context(), flaky, PostgresOptions{Schema: schema}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("open with the database unreachable: %v, want ErrUnavailable", err)
	}
	down.Store(false)
	s := openTestPostgres(t, flaky, schema)
	cr := insertCR(t, s, fullCR())

	// The database goes away: sessions end and new ones cannot be made.
	down.Store(true)
	if n := count(t, pool, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, appName); n == 0 {
		t.Fatalf("the store has no sessions to end")
	}
	err := s.Update(t.Context(), func(tx Tx) error {
		if _, err := tx.InsertVersion(metric("gmv", Published)); err != nil {
			return err
		}
		_, err := tx.AppendEvent(Event{Tenant: "acme", Type: "x"})
		return err
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("update with the database unreachable: %v, want ErrUnavailable", err)
	}
	if err := s.View(t.Context(), func(tx Tx) error { _, err := tx.ChangeRequest(cr.ID); return err }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("view with the database unreachable: %v, want ErrUnavailable", err)
	}
	if _, err := s.Events(t.Context(), EventQuery{Tenant: "acme"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("events with the database unreachable: %v, want ErrUnavailable", err)
	}
	if err := s.AppendEvents(t.Context(), []Event{{Tenant: "acme", Type: "query"}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("append events with the database unreachable: %v, want ErrUnavailable", err)
	}

	// Back, the store works again without being reopened, and nothing failed was kept.
	down.Store(false)
	if got := versionsOf(t, s, VersionQuery{}); len(got) != 0 {
		t.Errorf("a failed update left %+v", got)
	}
	if got, err := s.Events(t.Context(), EventQuery{Tenant: "acme"}); err != nil || len(got) != 0 {
		t.Errorf("failed updates left events %+v, %v", got, err)
	}
	insertVersions(t, s, metric("gmv", Published))
}

func TestPostgresWatchReconnects(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	s := openTestPostgres(t, pool, schema)
	other := openTestPostgres(t, pool, schema)
	elsewhere := openTestPostgres(t, pool, pgtest.NewSchema(t, pool))
	fired := make(chan struct{}, 100)
	if err := s.Watch(t.Context(), func() { fired <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	expect := func(what string, want bool) {
		t.Helper()
		wait := 5 * time.Second
		if !want {
			wait = 300 * time.Millisecond
		}
		select {
		case <-fired:
			if !want {
				t.Errorf("Watch reported %s", what)
			}
		case <-time.After(wait):
			if want {
				t.Fatalf("Watch did not report %s", what)
			}
		}
	}
	// A change in another schema is another store's business.
	insertVersions(t, elsewhere, metric("gmv", Published))
	expect("a change in another schema", false)

	// The listening session is ended; Watch reconnects, and says that it may have missed changes.
	id := s.d.(*postgresDialect).id
	if n := count(t, pool, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, "koujing semantic watch "+id); n != 1 {
		t.Fatalf("ended %d listening sessions, want 1", n)
	}
	expect("its reconnection", true)
	expect("its reconnection twice", false)
	insertVersions(t, other, metric("gmv", Published))
	expect("a change after reconnecting", true)

	// After Close, no more calls, and no listening session.
	s.Close()
	insertVersions(t, other, metric("gmv", Published))
	expect("a change after Close", false)
	if n := count(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, "koujing semantic watch "+id); n != 0 {
		t.Errorf("the listening session outlives Close")
	}
}
