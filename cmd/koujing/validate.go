package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
)

// runValidate checks a definitions directory against the sources it names, and the access
// policy beside it against the definitions, and prints every problem as file:line:col: message,
// exiting 1 when there is any.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "[--policy FILE] DIR", stderr)
	policy := fs.String("policy", "", "access policy file to check against the definitions (default: policy.csv in DIR, when it is there)")
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
	if err := validateNaming(cat, dir, stdout, stderr); err != nil {
		return err
	}
	path := *policy
	if path == "" {
		if _, err := os.Stat(filepath.Join(dir, policyInDir)); err == nil {
			path = filepath.Join(dir, policyInDir)
		}
	}
	if path == "" {
		return nil
	}
	return validatePolicy(cat, path, stdout, stderr)
}

// validateNaming lints the definitions against the naming rules of the directory, when it has
// them, printing every finding as file:line:col: severity: rule: message; it fails when one is an
// error (a warning is only printed).
func validateNaming(cat *semantic.Catalog, dir string, stdout, stderr io.Writer) error {
	rules, err := semantic.ReadNamingRules(os.DirFS(dir))
	var problems semantic.Problems
	switch {
	case errors.As(err, &problems):
		for _, p := range problems {
			p.Pos.File = filepath.Join(dir, p.Pos.File)
			fmt.Fprintln(stdout, p.String())
		}
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", filepath.Join(dir, semantic.NamingRulesFile), len(problems))
		return exitError{1}
	case err != nil:
		return err
	case len(rules.Rules) == 0:
		return nil
	}
	findings := rules.Lint(cat)
	for _, f := range findings {
		fmt.Fprintln(stdout, f.String())
	}
	errs, warnings := len(findings.Errors()), len(findings.Warnings())
	if errs > 0 {
		fmt.Fprintf(stderr, "%s: %d naming error(s), %d warning(s)\n", dir, errs, warnings)
		return exitError{1}
	}
	fmt.Fprintf(stdout, "%s: names ok (%d rules, %d warning(s))\n", dir, len(rules.Rules), warnings)
	return nil
}

// validatePolicy checks a policy file, and its rules against the definitions, printing every
// problem as file:line: message.
func validatePolicy(cat *semantic.Catalog, path string, stdout, stderr io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var lines []string
	st, err := authz.ParsePolicyFile(path, data)
	var fileErr *authz.PolicyFileError
	switch {
	case errors.As(err, &fileErr):
		for _, p := range fileErr.Problems {
			lines = append(lines, fmt.Sprintf("%s:%d: %s", path, p.Line, p.Msg))
		}
	case err != nil:
		return err
	default:
		var problems semantic.PolicyProblems
		if err := semantic.CheckPolicy(cat, authz.NewPolicy(st)); errors.As(err, &problems) {
			for _, p := range problems {
				lines = append(lines, fmt.Sprintf("%s:%d: %s: %s", path, p.Line, p.Rule, p.Msg))
			}
		} else if err != nil {
			return err
		}
	}
	if len(lines) > 0 {
		for _, l := range lines {
			fmt.Fprintln(stdout, l)
		}
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", path, len(lines))
		return exitError{1}
	}
	fmt.Fprintf(stdout, "%s: ok (%d rules)\n", path, len(st.Rules))
	return nil
}
