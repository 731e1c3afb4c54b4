package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQualityRun runs the demo's quality rules as CI would: a table of results, and exit status
// 1 when one crossed its red line (the demo's orders end with 2025, so orders_fresh fails).
func TestQualityRun(t *testing.T) {
	ctx := context.Background()
	code, out, errOut := koujing(t, ctx, "quality", "run", "--metric", "gmv_placed", "--demo-scale", "0.01")
	if code != 1 {
		t.Fatalf("exit %d, want 1 for the red line:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"RULE", "gmv_placed_matches_item_revenue  reconciliation  metric:gmv_placed  PASS", "orders_fresh", "FAIL",
		"6 rules ran: 1 failed or could not run."} {
		if !strings.Contains(out, want) {
			t.Errorf("the table does not say %q:\n%s", want, out)
		}
	}
	if code, out, _ := koujing(t, ctx, "quality", "run", "--rule", "orders_id_unique", "--demo-scale", "0.01"); code != 0 || !strings.Contains(out, "orders_id_unique") {
		t.Errorf("a passing rule: exit %d\n%s", code, out)
	}
	if code, _, errOut := koujing(t, ctx, "quality", "check"); code != 2 || !strings.Contains(errOut, "koujing quality run") {
		t.Errorf("quality check: exit %d, %s", code, errOut)
	}
	if code, _, errOut := koujing(t, ctx, "quality", "run", "--metric", "gmv_placed", "--domain", "sales", "--demo-scale", "0.01"); code != 1 || !strings.Contains(errOut, "exactly one") {
		t.Errorf("two selections: exit %d, %s", code, errOut)
	}
}

// TestServeSchedulesQuality checks that koujing serve runs the scheduled rules (their first
// period begins when it starts), that --quality-schedule=false leaves them alone, and that it
// stops cleanly either way.
func TestServeSchedulesQuality(t *testing.T) {
	scheduled := func(s *testServer) int {
		r := s.graphQL(t, "", `{ qualityRuns(first: 100) { edges { node { rule trigger } } } }`)
		if len(r.Errors) > 0 {
			t.Fatalf("qualityRuns: %+v", r.Errors)
		}
		var data struct {
			QualityRuns struct {
				Edges []struct {
					Node struct{ Rule, Trigger string }
				}
			}
		}
		if err := json.Unmarshal(r.Data, &data); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range data.QualityRuns.Edges {
			if e.Node.Trigger == "schedule" {
				n++
			}
		}
		return n
	}
	// The demo has four scheduled rules.
	on := startServe(t, "--demo-scale", "0.01", "--store", filepath.Join(t.TempDir(), "store.db"))
	on.waitUp(t)
	deadline := time.Now().Add(30 * time.Second)
	for scheduled(on) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("serve ran %d scheduled rules, want 4", scheduled(on))
		}
		time.Sleep(50 * time.Millisecond)
	}
	on.shutdown(t)

	off := startServe(t, "--demo-scale", "0.01", "--quality-schedule=false")
	off.waitUp(t)
	if n := scheduled(off); n != 0 {
		t.Errorf("serve --quality-schedule=false ran %d scheduled rules", n)
	}
}
