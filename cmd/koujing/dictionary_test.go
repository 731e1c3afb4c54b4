package main

import (
	"context"
	"strings"
	"testing"
)

// TestDictionaryCommand prints the demo's sales dictionary as Markdown and as CSV.
func TestDictionaryCommand(t *testing.T) {
	ctx := context.Background()
	code, out, errOut := koujing(t, ctx, "dictionary", "--domain", "sales", "--demo-scale", "0.001")
	if code != 0 || !strings.Contains(out, "data dictionary") || !strings.Contains(out, "| aov | ") || !strings.Contains(out, "## Dimensions") {
		t.Errorf("markdown: exit %d, stderr %q, output %q", code, errOut, out)
	}
	code, out, _ = koujing(t, ctx, "dictionary", "--domain", "sales", "--format", "csv", "--demo-scale", "0.001")
	if code != 0 || !strings.HasPrefix(out, "kind,name,label,definition,expression,unit,format,category,owner,steward,status,version\nmetric,aov,") {
		t.Errorf("csv: exit %d, output %q", code, out)
	}
	if code, _, errOut := koujing(t, ctx, "dictionary", "--demo-scale", "0.001"); code != 2 || !strings.Contains(errOut, "--domain") {
		t.Errorf("no domain: exit %d, stderr %q", code, errOut)
	}
}
