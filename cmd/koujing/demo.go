package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/demodata"
)

// runDemo handles the demo dataset: "demo export" writes it as CSV files, "demo load" copies it
// into PostgreSQL and writes definitions that read it there.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "load" {
		return runDemoLoad(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "export" {
		return usageError("the demo commands are: koujing demo export --dir DIR [--scale S], and koujing demo load --database-url URL --schema S --models DIR [--scale S]")
	}
	fs := newFlags("demo export", "--dir DIR [--scale S]", stderr)
	dir := fs.String("dir", "", "directory to write customers.csv, products.csv, orders.csv and order_items.csv to")
	scale := fs.Float64("scale", 0.1, "size of the dataset; 1 = 1,000,000 orders")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return usageError("give the output directory with --dir")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	ds, err := demodata.Generate(ctx, memory.NewGoAllocator(), *scale)
	if err != nil {
		return err
	}
	defer ds.Release()
	if err := demodata.WriteCSV(ctx, *dir, ds); err != nil {
		return err
	}
	for _, t := range ds.Tables() {
		fmt.Fprintf(stdout, "%s/%s.csv  %d rows\n", *dir, t.Name(), t.NumRows())
	}
	fmt.Fprintf(stdout, "scale %g written in %s\n", *scale, time.Since(start).Round(time.Millisecond))
	return nil
}
