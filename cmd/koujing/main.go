// Command koujing is Koujing's one binary: it serves the semantic layer over GraphQL, validates
// definitions, answers metric queries from the command line, exports the demo dataset, measures
// the engine and makes tokens for trying the access policy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: its name, a one-line summary, and what runs it.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "serve the GraphQL API and GraphiQL", runServe},
		{"validate", "check a definitions directory and print every problem", runValidate},
		{"query", "answer a metric query and print a table", runQuery},
		{"dictionary", "print a business domain's data dictionary as Markdown or CSV", runDictionary},
		{"demo", "export the demo dataset as CSV files (demo export)", runDemo},
		{"bench", "measure the engine on the demo dataset", runBench},
		{"token", "make a JWT for trying a role of the access policy", runToken},
		{"propose", "propose a definitions directory to a server as one change request", runPropose},
		{"export", "write a server's published definitions to a directory as YAML", runExport},
		{"quality", "run quality rules and print their results, failing on a red line (quality run)", runQualityCommand},
		{"mcp", "serve the MCP tools to an AI assistant over stdio", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runMCP(ctx, args, os.Stdin, stdout, stderr)
		}},
	}
}

// errUsage marks an error whose message is a usage problem; main exits with status 2 for it.
var errUsage = errors.New("usage")

// exitError carries an exit status without another message (the command printed its own).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// KOUJING_LOG_LEVEL=debug shows, among other things, every SQL statement a BI tool sends.
	level := slog.LevelInfo
	if v := os.Getenv("KOUJING_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			fmt.Fprintf(stderr, "KOUJING_LOG_LEVEL: %v; use debug, info, warn or error\n", err)
			return 2
		}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var exit exitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &exit):
			return exit.code
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "koujing %s: %v\n", c.name, err)
			return 2
		}
		fmt.Fprintf(stderr, "koujing %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "koujing: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Koujing (口径) serves every business metric from one definition.")
	fmt.Fprintln(w, "\nUsage: koujing <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun koujing <command> -h for a command's flags.")
}

// usageError returns an error that prints as a usage problem.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("koujing "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: koujing %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}
