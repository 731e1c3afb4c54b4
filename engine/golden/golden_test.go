package golden

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"Paid GMV by region":              "paid_gmv_by_region",
		"  a -- b (c)  ":                  "a_b_c",
		"GMV 按地区 by region":               "gmv_by_region",
		"cities ranked 3–7, limit/offset": "cities_ranked_3_7_limit_offset",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "case.txt")
	*update = true
	Compare(t, path, "one\n")
	*update = false
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\n" {
		t.Fatalf("-update wrote %q, %v", b, err)
	}
	Compare(t, path, "one\n") // equal: no error

	if !fails(t, func(tb testing.TB) { Compare(tb, path, "two\n") }) {
		t.Error("Compare accepted output that differs from the golden file")
	}
	if !fails(t, func(tb testing.TB) { Compare(tb, filepath.Join(t.TempDir(), "missing.txt"), "one\n") }) {
		t.Error("Compare accepted a missing golden file")
	}
}

// fails runs fn in its own goroutine with a testing.TB that records failures instead of failing
// t, and reports whether fn failed.
func fails(t *testing.T, fn func(testing.TB)) bool {
	rec := &recorder{T: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(rec)
	}()
	<-done
	return rec.failed
}

// recorder notes a failure instead of failing the test; Fatalf stops the goroutine as
// testing.T's does.
type recorder struct {
	*testing.T
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatal(...any)          { r.failed = true; runtime.Goexit() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
