package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidatePolicy checks that validate reads the policy beside the definitions (or the one
// --policy names) and prints each of its problems at file:line: a rule that does not parse, and
// rules the definitions cannot bind.
func TestValidatePolicy(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{"rates.yaml": ratesModel, "rates.csv": "currency,rate\nCNY,1.00\nUSD,7.10\n"}
	files["policy.csv"] = "p, analyst, acme, *, read, allow\nrow_filter, analyst, acme, rates, \"currency = 'CNY'\"\n"
	good := writeFiles(t, files)
	if code, out, errOut := koujing(t, ctx, "validate", good); code != 0 || !strings.Contains(out, "policy.csv: ok (2 rules)") {
		t.Errorf("valid policy: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	files["policy.csv"] = "# a comment\np, analyst, acme, *, read, allow\nrow_filter, analyst, acme, rates, \"curency = 'CNY'\"\nmask, analyst, acme, rates.nope, hash\n"
	bad := writeFiles(t, files)
	code, out, errOut := koujing(t, ctx, "validate", bad)
	path := filepath.Join(bad, "policy.csv")
	for _, want := range []string{
		path + ":3: row_filter, analyst, acme, rates, curency = 'CNY': model rates has no column curency (did you mean currency?)",
		path + ":4: mask, analyst, acme, rates.nope, hash: there is no dimension rates.nope.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	if code != 1 || !strings.Contains(errOut, "2 problem(s)") {
		t.Errorf("exit %d, stderr %q; want 1 and two problems", code, errOut)
	}

	other := writeFiles(t, map[string]string{"p.csv": "p, analyst, acme, *, read\n"})
	code, out, _ = koujing(t, ctx, "validate", "--policy", filepath.Join(other, "p.csv"), good)
	if code != 1 || !strings.Contains(out, filepath.Join(other, "p.csv")+":1: a p rule has 6 or 7 fields") {
		t.Errorf("--policy with a malformed rule: exit %d, output %q", code, out)
	}
}
