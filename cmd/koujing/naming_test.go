package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateNaming checks that validate lints the names against naming.yaml beside the
// definitions: errors fail it, warnings are printed, both at file:line:col, and a mistake in
// naming.yaml is reported at its line.
func TestValidateNaming(t *testing.T) {
	ctx := context.Background()
	csv := "currency,rate\nCNY,1.00\n"
	rules := "rules:\n  - kind: unit_suffix\n    units: {CNY: [_amount]}\n  - kind: max_length\n    max: 8\n    severity: warning\n"
	withUnit := strings.Replace(ratesModel, "    measure: rates.rate_total\n", "    unit: CNY\n    measure: rates.rate_total\n", 1)

	dir := writeFiles(t, map[string]string{"rates.yaml": withUnit, "rates.csv": csv, "naming.yaml": rules})
	code, out, errOut := koujing(t, ctx, "validate", dir)
	file := filepath.Join(dir, "rates.yaml")
	for _, want := range []string{
		file + ":12:5: error: unit_suffix: metric total_rate is in CNY, so its name ends with _amount",
		file + ":12:5: warning: max_length: metric total_rate is 10 characters long, more than 8",
		file + ":8:9: warning: max_length: measure rate_total is 10 characters long, more than 8",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	if code != 1 || !strings.Contains(errOut, "1 naming error(s), 2 warning(s)") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}

	renamed := strings.ReplaceAll(withUnit, "total_rate", "rate_amount")
	dir = writeFiles(t, map[string]string{"rates.yaml": renamed, "rates.csv": csv, "naming.yaml": rules})
	if code, out, _ := koujing(t, ctx, "validate", dir); code != 0 || !strings.Contains(out, "names ok (2 rules, 2 warning(s))") {
		t.Errorf("warnings only: exit %d, output %q", code, out)
	}

	dir = writeFiles(t, map[string]string{"rates.yaml": renamed, "rates.csv": csv, "naming.yaml": "rules:\n  - kind: snake_case\n    severity: loud\n"})
	code, out, _ = koujing(t, ctx, "validate", dir)
	if want := filepath.Join(dir, "naming.yaml") + `:3:15: unknown severity "loud"`; code != 1 || !strings.Contains(out, want) {
		t.Errorf("bad naming.yaml: exit %d, output %q, want %q", code, out, want)
	}
}
