package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
)

// runValidate checks a definitions directory against the sources it names and prints every
// problem as file:line:col: message, exiting 1 when there is any.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "DIR", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("give exactly one definitions directory, e.g. koujing validate ./models")
	}
	dir := fs.Arg(0)
	src := engine.NewSources(memory.NewGoAllocator())
	defer src.Close()
	cat, err := semantic.LoadDir(ctx, dir, semantic.SourcesResolver(src))
	var problems semantic.Problems
	switch {
	case errors.As(err, &problems):
		for _, p := range problems {
			fmt.Fprintln(stdout, p.String())
		}
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", dir, len(problems))
		return exitError{1}
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d models, %d metrics)\n", dir, len(cat.Models()), len(cat.Metrics()))
	return nil
}
