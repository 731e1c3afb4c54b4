// Package pgtest gives tests a PostgreSQL database: a connection pool to the test server and
// the demo dataset loaded into a schema of its own, dropped when the test ends.
//
// Tests that need PostgreSQL skip, loudly, when it is unreachable, unless the environment sets
// KOUJING_REQUIRE_POSTGRES=1, as CI does, which turns the skip into a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/postgres"
)

// Environment variables that configure the test database.
const (
	// URLEnv names the variable holding the test server's URL; DefaultURL applies when unset.
	URLEnv = "KOUJING_TEST_DATABASE_URL"
	// RequireEnv names the variable that, set to 1, makes an unreachable server a failure.
	RequireEnv = "KOUJING_REQUIRE_POSTGRES"
)

// DefaultURL is the test server used when URLEnv is unset: a local PostgreSQL with trust
// authentication and a database named test.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Connect returns a pool connected to the test server, closed when the test ends. Its sessions
// use the UTC time zone. If the server cannot be reached within a few seconds, the test is
// skipped, or fails if RequireEnv is 1.
func Connect(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	url := os.Getenv(URLEnv)
	if url == "" {
		url = DefaultURL
	}
	pool, err := connect(url)
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("PostgreSQL at %s is unreachable and %s=1: %v", redact(url), RequireEnv, err)
		}
		tb.Skipf("SKIPPING: PostgreSQL at %s is unreachable (%v); set %s or start it; %s=1 makes this a failure",
			redact(url), err, URLEnv, RequireEnv)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func connect(url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", URLEnv, err)
	}
	// Timestamps print in UTC, whatever the server's default, so tests can compare text.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// redact hides the password of a URL, if it has one, for messages.
func redact(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil || cfg.Password == "" {
		return url
	}
	return fmt.Sprintf("postgres://%s:***@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// NewSchema creates an empty schema named koujing_test_<random hex> and returns its name. The
// schema and everything in it is dropped when the test ends.
func NewSchema(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("pick a schema name: %v", err)
	}
	name := "koujing_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("create schema %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// primaryKeys are the demo tables' primary keys, added after loading because building an index
// once is faster than maintaining it row by row.
var primaryKeys = map[string]string{
	demodata.Customers:  "customer_id",
	demodata.Products:   "product_id",
	demodata.Orders:     "order_id",
	demodata.OrderItems: "item_id",
}

// LoadDemo loads d into a new schema (see NewSchema), one table per demo table with the same
// name, columns and rows, adds the primary keys, analyzes the tables, and returns the schema's
// name. The tables are copied in parallel, one pool connection each.
func LoadDemo(tb testing.TB, pool *pgxpool.Pool, d *demodata.Dataset) string {
	tb.Helper()
	schema := NewSchema(tb, pool)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	tables := d.Tables()
	errs := make([]error, len(tables))
	var wg sync.WaitGroup
	for i, t := range tables {
		wg.Go(func() {
			if _, err := postgres.CopyTable(ctx, pool, schema, t.Name(), t); err != nil {
				errs[i] = err
				return
			}
			if key, ok := primaryKeys[t.Name()]; ok {
				sql := fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (%s)",
					pgx.Identifier{schema, t.Name()}.Sanitize(), pgx.Identifier{key}.Sanitize())
				if _, err := pool.Exec(ctx, sql); err != nil {
					errs[i] = fmt.Errorf("add primary key to %s: %w", t.Name(), err)
					return
				}
			}
			if _, err := pool.Exec(ctx, "ANALYZE "+pgx.Identifier{schema, t.Name()}.Sanitize()); err != nil {
				errs[i] = fmt.Errorf("analyze %s: %w", t.Name(), err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatalf("load demo data into %s: %v", schema, err)
		}
	}
	return schema
}
