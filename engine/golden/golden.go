// Package golden compares test output with golden files in testdata. Run a test with -update to
// rewrite its golden files, then read the diff: every change in them is a change in behaviour.
//
// Only tests import this package; importing it registers the -update flag.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Name turns a test case's name into a file name: lower case ASCII letters and digits, each run
// of other characters as one "_", none at either end.
func Name(caseName string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(caseName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			gap = false
			continue
		}
		gap = true
	}
	return b.String()
}

// Compare reports an error unless got equals the golden file at path; under -update it writes
// got to the file instead, creating its directory.
func Compare(tb testing.TB, path, got string) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to write it)", err)
	}
	if got != string(want) {
		tb.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
