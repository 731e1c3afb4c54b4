package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/semantic/demo"
)

// warehouseConnection is the name of the connection the definitions demo load writes declare.
const warehouseConnection = "warehouse"

// runDemoLoad copies the demo dataset into a PostgreSQL schema and writes a definitions directory
// whose models read those tables, so the same demo runs on a real database.
func runDemoLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo load", "--database-url URL --schema S --models DIR [--scale S]", stderr)
	url := fs.String("database-url", os.Getenv("KOUJING_DATABASE_URL"), "PostgreSQL URL to load into (default $KOUJING_DATABASE_URL)")
	schema := fs.String("schema", "koujing_demo", "schema to create the tables in; it must not hold them already")
	scale := fs.Float64("scale", 0.1, "size of the dataset; 1 = 1,000,000 orders")
	models := fs.String("models", "", "directory to write the definitions to; it must not exist yet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *url == "":
		return usageError("give the database with --database-url postgres://user@host:5432/db")
	case *models == "":
		return usageError("give the directory to write definitions to with --models DIR")
	}
	if _, err := os.Stat(*models); err == nil {
		return usageError("%s exists already; give a new directory, so that nothing in it is overwritten", *models)
	}
	start := time.Now()
	ds, err := demodata.Generate(ctx, memory.NewGoAllocator(), *scale)
	if err != nil {
		return err
	}
	defer ds.Release()
	pool, err := pgxpool.New(ctx, *url)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer pool.Close()
	if err := postgres.LoadDataset(ctx, pool, *schema, ds); err != nil {
		return err
	}
	for _, t := range ds.Tables() {
		fmt.Fprintf(stdout, "%s.%s  %d rows\n", *schema, t.Name(), t.NumRows())
	}
	if err := writeWarehouseDefinitions(*models, *schema, *url); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scale %g loaded in %s; definitions written to %s\n\nServe them with:\n  koujing serve --models %s\n",
		*scale, time.Since(start).Round(time.Millisecond), *models, *models)
	return nil
}

// writeWarehouseDefinitions writes the demo's definitions with every model reading its table in
// schema through a connection named warehouse, whose URL is kept in a file beside them (readable
// by the owner only, and ignored by git) rather than in the YAML. The directory appears whole or
// not at all.
func writeWarehouseDefinitions(dir, schema, url string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".koujing-models-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	err = demo.Write(tmp, func(table string) string {
		return "{connection: " + warehouseConnection + ", table: " + schema + "." + table + "}"
	})
	if err != nil {
		return err
	}
	files := map[string]struct {
		text string
		perm os.FileMode
	}{
		"connections.yaml": {fmt.Sprintf(`# The warehouse the demo models read. Its URL is in the file warehouse_url, kept out of the
# definitions (and out of git); point url_env at an environment variable instead if you prefer.
connections:
  - name: %s
    url_file: warehouse_url
    pool_size: 8
    statement_timeout: 60s
`, warehouseConnection), 0o644},
		"warehouse_url": {url + "\n", 0o600},
		".gitignore":    {"warehouse_url\n", 0o644},
	}
	for name, f := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(f.text), f.perm); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dir)
}
