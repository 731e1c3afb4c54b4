package main

import (
	"context"
	"io"
)

// runDictionary prints a domain's data dictionary: every metric and dimension with its
// definition, unit, format, category, owner, steward, status and version, as Markdown or CSV,
// as the principal of --token may read it (everything without one).
func runDictionary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dictionary", "--domain NAME [--format markdown|csv] [--token T] [flags]", stderr)
	var rt runtimeFlags
	rt.register(fs)
	var af accessFlags
	af.register(fs)
	token := fs.String("token", "", "list what the principal of this token or API key may read, under the access policy\n(default: everything)")
	domain := fs.String("domain", "", "the business domain, such as sales")
	format := fs.String("format", "markdown", "output format: markdown or csv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError("unexpected argument %q; name the domain with --domain", fs.Arg(0))
	case *domain == "":
		return usageError("name the domain with --domain, e.g. koujing dictionary --domain sales")
	case *format != "markdown" && *format != "csv":
		return usageError("unknown format %q; use markdown or csv", *format)
	}
	if err := af.check(); err != nil {
		return err
	}
	r, err := rt.load(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	acc, err := accessOfToken(ctx, r, &af, rt.models, *token)
	if err != nil {
		return err
	}
	dict, err := acc.Dictionary(*domain)
	if err != nil {
		return err
	}
	if *format == "csv" {
		return dict.WriteCSV(stdout)
	}
	return dict.WriteMarkdown(stdout)
}
