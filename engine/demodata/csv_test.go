package demodata

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestWriteCSV(t *testing.T) {
	d := generate(t, 0.01)
	dir := t.TempDir()
	if err := WriteCSV(context.Background(), dir, d); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(TableNames()) {
		t.Errorf("dir holds %d files, want one per table: %v", len(entries), entries)
	}
	for _, name := range TableNames() {
		f, err := os.Open(filepath.Join(dir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r := csv.NewReader(f)
		header, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		s, _ := Schema(name)
		var want []string
		for _, f := range s.Fields() {
			want = append(want, f.Name)
		}
		if strings.Join(header, ",") != strings.Join(want, ",") {
			t.Errorf("%s.csv header is %v, want %v", name, header, want)
		}
		rows := int64(0)
		for {
			_, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s.csv: %v", name, err)
			}
			rows++
		}
		if want := d.Table(name).NumRows(); rows != want {
			t.Errorf("%s.csv has %d rows, want %d", name, rows, want)
		}
	}
}

// TestWriteCSVFirstRows pins the exact text of the first rows, so a change of format (or of
// the generated values) is a deliberate one.
func TestWriteCSVFirstRows(t *testing.T) {
	d := generate(t, 0.01)
	dir := t.TempDir()
	if err := WriteCSV(context.Background(), dir, d); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		Customers: "customer_id,name,segment,region,city,signup_date\n" +
			"1,Fang Yang,consumer,south,Shenzhen,2025-06-27\n",
		Products: "product_id,category,brand,unit_price\n" +
			"1,apparel,Maple & Pine,184.65\n",
		Orders: "order_id,customer_id,channel,status,created_at,paid_at,amount,coupon_amount,region\n" +
			"1,560,app,placed,2023-01-01 01:43:15.081964+00,,70.73,5.00,central\n" +
			"2,407,app,cancelled,2023-01-01 04:24:05.607882+00,,75.50,,north\n" +
			"3,24,web,completed,2023-01-01 07:24:57.062719+00,2023-01-02 04:15:38.283740+00,487.14,,east\n",
		OrderItems: "item_id,order_id,product_id,quantity,price\n" +
			"1,1,8,1,70.73\n",
	}
	for name, prefix := range want {
		b, err := os.ReadFile(filepath.Join(dir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), prefix) {
			t.Errorf("%s.csv starts with\n%s\nwant\n%s", name, string(b)[:len(prefix)], prefix)
		}
	}
}

func TestWriteCSVCancelled(t *testing.T) {
	d := generate(t, 0.001)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WriteCSV(ctx, dir, d); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteCSV with a cancelled context: err = %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("a cancelled WriteCSV left %v", entries)
	}
}

func TestAppendCSVString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Shanghai", "Shanghai"},
		{"Xi'an", "Xi'an"},
		{"Maple & Pine", "Maple & Pine"},
		{"", `""`},
		{`\.`, `"\."`},
		{"a,b", `"a,b"`},
		{`say "hi"`, `"say ""hi"""`},
		{"two\nlines", "\"two\nlines\""},
		{" padded", `" padded"`},
		{"padded ", `"padded "`},
	}
	for _, tt := range tests {
		if got := string(appendCSVString(nil, tt.in)); got != tt.want {
			t.Errorf("appendCSVString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAppendDecimal(t *testing.T) {
	big := func(s string) decimal128.Num {
		n, err := decimal128.FromString(s, 38, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		n     decimal128.Num
		scale int32
		want  string
	}{
		{decimal128.FromI64(12345), 2, "123.45"},
		{decimal128.FromI64(5), 2, "0.05"},
		{decimal128.FromI64(0), 2, "0.00"},
		{decimal128.FromI64(-5), 2, "-0.05"},
		{decimal128.FromI64(-12345), 2, "-123.45"},
		{decimal128.FromI64(500), 2, "5.00"},
		{decimal128.FromI64(7), 0, "7"},
		{decimal128.FromI64(-1 << 63), 2, "-92233720368547758.08"},
		{big("123456789012345678901234567890"), 4, "12345678901234567890123456.7890"},
		{big("-123456789012345678901234567890"), 2, "-1234567890123456789012345678.90"},
	}
	for _, tt := range tests {
		if got := string(appendDecimal(nil, tt.n, tt.scale)); got != tt.want {
			t.Errorf("appendDecimal(%v, %d) = %s, want %s", tt.n, tt.scale, got, tt.want)
		}
	}
}
