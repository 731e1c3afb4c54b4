package source

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzCSVScanner checks the scanner against encoding/csv: wherever encoding/csv reads a file, the
// scanner reads the same fields. (The scanner also accepts quotes inside unquoted fields, which
// encoding/csv rejects, and tells empty quoted fields from NULLs, which encoding/csv cannot.)
func FuzzCSVScanner(f *testing.F) {
	for _, seed := range []string{
		"a,b\n1,2\n",
		"a,b\r\n1,\"x,y\"\r\n",
		"a\n\"line1\r\nline2\"\n",
		"a,b\n\n\n1,2",
		"\"\"\"\",\"\"\n,\n",
		"a,b,\n,,\n",
		"a\r",
		"x\n\"a\"\"b\",c\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		want, wantErr := readAllEncodingCSV(input)
		s := newCSVScanner(strings.NewReader(input))
		var got [][]string
		for {
			ok, err := s.next()
			if err != nil {
				if wantErr == nil {
					t.Fatalf("scanner: %v; encoding/csv read %q", err, want)
				}
				return
			}
			if !ok {
				break
			}
			rec := make([]string, s.numFields())
			for i := range rec {
				rec[i] = string(s.field(i))
				if s.isNull(i) && rec[i] != "" {
					t.Fatalf("field %d is NULL but holds %q", i, rec[i])
				}
			}
			got = append(got, rec)
		}
		if wantErr != nil {
			return // the scanner is more lenient about quotes
		}
		if len(got) != len(want) {
			t.Fatalf("got %d records %q, encoding/csv read %d %q", len(got), got, len(want), want)
		}
		for i := range got {
			if strings.Join(got[i], "\x00") != strings.Join(want[i], "\x00") || len(got[i]) != len(want[i]) {
				t.Fatalf("record %d: got %q, encoding/csv read %q", i, got[i], want[i])
			}
		}
	})
}

func readAllEncodingCSV(input string) ([][]string, error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(input, utf8BOM)))
	r.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}
