package exec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// longName is 1,300 characters, of one and three bytes, ending in a space.
var longName = strings.Repeat("Zhang Wei 张伟 ", 100)

// maskCases are the values TestMask masks, with what each mask makes of them ("NULL" for NULL).
// The hashes are PostgreSQL's md5() of the same text.
var maskCases = []struct {
	name          string
	in            string
	null          bool
	hash, partial string
}{
	{name: "NULL", null: true, hash: "NULL", partial: "NULL"},
	{"empty", "", false, "d41d8cd98f00b204e9800998ecf8427e", ""},
	{"one character", "a", false, "0cc175b9c0f1b6a831c399e269772661", "*"},
	{"two characters", "ab", false, "187ef4436122d1cc2f40dc2b92f0eba0", "**"},
	{"three characters", "abc", false, "900150983cd24fb0d6963f7d28e17f72", "a*c"},
	{"a name", "Wei Wang", false, "2cad5410537ecf4ac862d93d4d525467", "W******g"},
	{"a star already", "a*b", false, "5d74a67f6a0cc925b0e4d69146fc57a4", "a*b"},
	{"one CJK character", "李", false, "46900173a2e62ba55dedacfdfd7e7441", "*"},
	{"two CJK characters", "张三", false, "615db57aa314529aaa0fbe95b3e95bd3", "**"},
	{"three CJK characters", "张三丰", false, "4a6042865bf82a8311bc5fc53d7fc9fe", "张*丰"},
	{"accents", "Ñandú", false, "fb003f8bf7e85ecf5b845c04d9dcc92c", "Ñ***ú"},
	{"a combining accent is a character", "e\u0301", false, "5526861fbb1e71a1bda6ac364310a807", "**"},
	{"a combining accent last", "e\u0301x", false, "85811eb431323bcea6e6629aec094059", "e*x"},
	{"an emoji", "🙂", false, "5c8d6d302301d0e25c0e051418dff305", "*"},
	{"an emoji between", "a🙂b", false, "0cd65aa3510c4ef6d5f48725fcb90443", "a*b"},
	{"emoji with a skin tone", "🙂👍🏽x", false, "9fb6b277012a34c10c4da9df9787ad87", "🙂**x"},
	{"an emoji family is five characters", "👨‍👩‍👧", false, "b11675e34c181351e059596f7945d4e4", "👨***👧"},
	{"long", longName, false, "a2f82dd64f05551904f47212fbe829c6", "Z" + strings.Repeat("*", 1298) + " "},
}

// maskEncodings build the cases' values as an array, one row per case in order, in each of the
// ways a string column may arrive.
var maskEncodings = []struct {
	name  string
	build func(mem memory.Allocator) arrow.Array
}{
	{"plain", func(mem memory.Allocator) arrow.Array { return maskStrings(mem, "") }},
	{"plain slice", func(mem memory.Allocator) arrow.Array {
		// Rows before and after the slice, so that offsets and validity start mid-buffer.
		whole := maskStrings(mem, "before")
		defer whole.Release()
		return array.NewSlice(whole, 1, int64(len(maskCases)+1))
	}},
	{"dictionary", func(mem memory.Allocator) arrow.Array { return maskDictionary(mem, false) }},
	{"dictionary with a NULL entry", func(mem memory.Allocator) arrow.Array { return maskDictionary(mem, true) }},
	{"dictionary slice", func(mem memory.Allocator) arrow.Array {
		whole := maskDictionary(mem, false)
		defer whole.Release()
		return array.NewSlice(whole, int64(len(maskCases)), int64(2*len(maskCases)))
	}},
}

// maskStrings returns the cases' values as a plain string array, with pad (unless empty) as an
// extra row before and after them.
func maskStrings(mem memory.Allocator, pad string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	if pad != "" {
		b.Append(pad)
	}
	for _, c := range maskCases {
		if c.null {
			b.AppendNull()
		} else {
			b.Append(c.in)
		}
	}
	if pad != "" {
		b.Append(pad)
	}
	return b.NewArray()
}

// maskDictionary returns the cases' values dictionary-encoded: the dictionary holds them in
// reverse order after an entry no row uses, and a NULL is a NULL index, or with nullEntry an
// index to a NULL entry. The rows are followed by the same rows again.
func maskDictionary(mem memory.Allocator, nullEntry bool) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Append("unused")
	idx := make([]int32, len(maskCases))
	for i := len(maskCases) - 1; i >= 0; i-- {
		switch c := maskCases[i]; {
		case !c.null:
			b.Append(c.in)
		case nullEntry:
			b.AppendNull()
		default:
			idx[i] = -1
			continue
		}
		idx[i] = int32(b.Len() - 1)
	}
	dict := b.NewArray()
	defer dict.Release()
	return dictOver(mem, dict, append(idx, idx...))
}

// TestMask masks each case as every encoding holds it: the rows of one array at once, each row
// checked on its own.
func TestMask(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	for _, enc := range maskEncodings {
		t.Run(enc.name, func(t *testing.T) {
			in := enc.build(mem)
			defer in.Release()
			rec := array.NewRecordBatch(schemaOf("v", in.DataType()), []arrow.Array{in}, int64(in.Len()))
			defer rec.Release()
			for _, kind := range []plan.MaskKind{plan.MaskHash, plan.MaskPartial} {
				got, err := evalRows(t, env, must(plan.NewMask(col("v", in.DataType()), kind)), rec)
				if err != nil {
					t.Fatal(err)
				}
				for i, c := range maskCases {
					t.Run(kind.String()+"/"+c.name, func(t *testing.T) {
						want := c.hash
						if kind == plan.MaskPartial {
							want = c.partial
						}
						if got[i] != want {
							t.Errorf("mask_%s(%q) = %q, want %q", kind, c.in, got[i], want)
						}
						if j := i + len(maskCases); j < len(got) && got[j] != want {
							t.Errorf("mask_%s(%q) repeated = %q, want %q", kind, c.in, got[j], want)
						}
					})
				}
			}
		})
	}
}

// TestMaskDictionaryOncePerDictionary checks that batches sharing a dictionary reuse its masked
// entries, and that a new dictionary is masked afresh.
func TestMaskDictionaryOncePerDictionary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	first, second := dictOf(mem, []string{"Wei Wang", "张三丰", "Li"}), dictOf(mem, []string{"Fang Li", "a"})
	defer first.Release()
	defer second.Release()
	batches := []struct {
		dict arrow.Array
		idx  []int32
		want string
	}{
		{first, []int32{0, 1, 2, -1}, "W******g, 张*丰, **, NULL"},
		{first, []int32{2, 2, 0}, "**, **, W******g"},
		{second, []int32{1, 0, -1, 0}, "*, F*****i, NULL, F*****i"},
		{first, []int32{1}, "张*丰"},
	}
	ev, err := compileExpr(env, must(plan.NewMask(col("v", dictString), plan.MaskPartial)), schemaOf("v", dictString))
	if err != nil {
		t.Fatal(err)
	}
	defer closeEvaluator(ev)
	m := ev.(*maskEval)
	var masked *array.String
	for i, b := range batches {
		t.Run(fmt.Sprint("batch ", i), func(t *testing.T) {
			in := dictOver(mem, b.dict, b.idx)
			defer in.Release()
			rec := array.NewRecordBatch(schemaOf("v", dictString), []arrow.Array{in}, int64(in.Len()))
			defer rec.Release()
			out, err := ev.eval(rec)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if got := strings.Join(cells(out), ", "); got != b.want {
				t.Errorf("got %s, want %s", got, b.want)
			}
			sameDict := i > 0 && batches[i-1].dict == b.dict
			if reused := m.masked == masked; reused != sameDict {
				t.Errorf("masked entries reused: %v; the batch before had the same dictionary: %v", reused, sameDict)
			}
			masked = m.masked
		})
	}
}

// TestMaskPartialDoesNotAllocate guards the per-row work against a copy of long non-ASCII
// values, which utf8.RuneCount would make.
func TestMaskPartialDoesNotAllocate(t *testing.T) {
	s := []byte(longName)
	dst := make([]byte, len(s))
	if n := testing.AllocsPerRun(100, func() { maskPartial(dst, s) }); n != 0 {
		t.Errorf("maskPartial of %d bytes allocates %v times", len(s), n)
	}
}
