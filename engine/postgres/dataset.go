package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/engine/demodata"
)

// TxBeginner starts transactions: a *pgx.Conn or a *pgxpool.Pool.
type TxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// LoadDataset copies every table of the demo dataset into schema (created if it does not exist)
// with the tables' names, adds each table's primary key and analyzes it. It all happens in one
// transaction: on any error, or if a table of that name already exists, nothing is left behind.
func LoadDataset(ctx context.Context, db TxBeginner, schema string, d *demodata.Dataset) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("load demo data into %s: %w", schema, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("load demo data into %s: %w", schema, err)
	}
	for _, t := range d.Tables() {
		if _, err := CopyTable(ctx, tx, schema, t.Name(), t); err != nil {
			return fmt.Errorf("load demo data into %s: %w", schema, err)
		}
		name := pgx.Identifier{schema, t.Name()}.Sanitize()
		if key := demodata.PrimaryKey(t.Name()); key != "" {
			if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (%s)", name, pgx.Identifier{key}.Sanitize())); err != nil {
				return fmt.Errorf("load demo data: primary key of %s: %w", t.Name(), err)
			}
		}
		if _, err := tx.Exec(ctx, "ANALYZE "+name); err != nil {
			return fmt.Errorf("load demo data: analyze %s: %w", t.Name(), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("load demo data into %s: %w", schema, err)
	}
	return nil
}
