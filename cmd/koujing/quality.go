package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// startQualityScheduler runs the scheduler of the service's quality rules until the returned
// function is called, which returns once it has stopped and given its lease up. Replicas that
// share the metadata store run a rule once per period of its schedule between them.
func startQualityScheduler(ctx context.Context, svc *semantic.Service) (stop func(), err error) {
	sched, err := semantic.NewQualityScheduler(svc, semantic.QualitySchedulerOptions{Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	return runInBackground(ctx, sched.Run), nil
}

// runQualityCommand is `koujing quality run`: it runs quality rules over the definitions and
// their data, as CI runs dbt tests, prints a table of the results and exits with status 1 when a
// rule crossed its red line or could not run.
func runQualityCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		return usageError("the quality command is koujing quality run [--metric NAME | --model NAME | --domain NAME | --rule NAME]")
	}
	fs := newFlags("quality run", "[--metric NAME | --model NAME | --domain NAME | --rule NAME] [--models DIR] [--store URL]", stderr)
	var rt runtimeFlags
	rt.register(fs)
	var sf storeFlags
	sf.register(fs)
	var sel semantic.QualitySelection
	fs.StringVar(&sel.Metric, "metric", "", "run the rules of this metric: its own, those of the metrics it is built on and of the models it aggregates")
	fs.StringVar(&sel.Model, "model", "", "run the rules this model declares")
	fs.StringVar(&sel.Domain, "domain", "", "run the rules of this domain's metrics")
	fs.StringVar(&sel.Rule, "rule", "", "run this one rule")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	r, err := rt.load(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	gov, closeStore, err := sf.openGovernance(ctx, r, rt.models)
	if err != nil {
		return err
	}
	defer closeStore()
	r.govern(gov)
	acc := r.catalog.FullAccess()
	var runs []store.QualityRun
	if sel == (semantic.QualitySelection{}) {
		for _, rule := range r.catalog.QualityRules() {
			run, err := r.service.RunQualityRule(ctx, acc, rule.Name)
			if err != nil {
				return err
			}
			runs = append(runs, run)
		}
	} else if runs, err = r.service.RunQualityRules(ctx, acc, sel); err != nil {
		return err
	}
	return writeQualityRuns(stdout, runs)
}

// writeQualityRuns prints runs as a table, each with the thresholds it was judged by, and returns
// exitError 1 when one failed or could not run.
func writeQualityRuns(w io.Writer, runs []store.QualityRun) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tKIND\tON\tSTATUS\tVALUE\tTHRESHOLD")
	bad := 0
	for _, run := range runs {
		kind := semantic.QualityKind(run.Kind)
		value, threshold := "", semantic.DescribeThreshold(kind, run.Warn, run.Fail)
		if run.Value != nil {
			value = semantic.FormatQualityValue(kind.Unit(), *run.Value)
		}
		status := strings.ToUpper(string(run.Status))
		if run.Status == store.QualityError {
			var detail struct{ Error string }
			if json.Unmarshal([]byte(run.Detail), &detail) == nil {
				value = detail.Error
			}
		}
		if run.Status == store.QualityFail || run.Status == store.QualityError {
			bad++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", run.Rule, run.Kind, run.Subject, status, value, threshold)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d rules ran: %d failed or could not run.\n", len(runs), bad)
	if bad > 0 {
		return exitError{code: 1}
	}
	return nil
}
