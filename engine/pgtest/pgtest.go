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

// URL returns the test server's URL: URLEnv's value, or DefaultURL.
func URL() string {
	if url := os.Getenv(URLEnv); url != "" {
		return url
	}
	return DefaultURL
}

// Connect returns a pool connected to the test server, closed when the test ends. Its sessions
// use the UTC time zone. If the server cannot be reached within a few seconds, the test is
// skipped, or fails if RequireEnv is 1.
func Connect(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	url := URL()
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

// LoadDemo loads d into a new schema (see NewSchema) with postgres.LoadDataset — one table per
// demo table with the same name, columns and rows, with primary keys, analyzed — and returns the
// schema's name.
func LoadDemo(tb testing.TB, pool *pgxpool.Pool, d *demodata.Dataset) string {
	tb.Helper()
	schema := NewSchema(tb, pool)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := postgres.LoadDataset(ctx, pool, schema, d); err != nil {
		tb.Fatalf("load demo data: %v", err)
	}
	return schema
}
