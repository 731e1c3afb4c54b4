package store

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

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
