package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// maxDictionarySize is the most distinct values a CSV string column may have and still be
// dictionary-encoded.
const maxDictionarySize = 1 << 16

// columnKind is the family of values a CSV column holds, as far as inference has seen.
type columnKind uint8

const (
	kindUnknown columnKind = iota // only NULLs so far
	kindNumber
	kindBool
	kindTime
	kindText
)

// csvColumn is what the first pass learns about one column, and what the second pass needs to
// build it.
type csvColumn struct {
	name          string
	kind          columnKind
	nulls, values int64

	// Numbers: notInt means some value is not an integer within int64, notDecimal that some
	// value has an exponent, more than maxInferredScale decimals or is NaN/Inf, and finite that
	// some value is an ordinary number. intDigits and scale are the most seen.
	notInt, notDecimal, finite bool
	intDigits, scale           int

	// Times: notDate means some value has a time of day; offset and plain that some value has a
	// UTC offset and some has none.
	notDate, offset, plain bool

	// distinct maps each value of a text column to its dictionary index, and dictValues lists the
	// values by index, in order of first appearance; indices holds the index of each non-NULL
	// value in turn, so that the second pass need not look values up again. All three are dropped
	// once there are more than maxDictionarySize distinct values, or when the column is not to be
	// a dictionary. distinctFromStart reports whether the column was text from its first value,
	// so that every value was counted.
	distinct          map[string]int32
	dictValues        []string
	indices           []int32
	tooMany           bool
	distinctFromStart bool

	typ        arrow.DataType
	dictionary bool
}

// observe folds one non-NULL value into the column's inference.
func (c *csvColumn) observe(v []byte) {
	c.values++
	switch c.kind {
	case kindText:
		c.countDistinct(v)
		return
	case kindUnknown:
		c.kind = guessKind(v)
		if c.kind == kindText {
			c.distinctFromStart = true
			c.countDistinct(v)
			return
		}
	}
	if !c.fits(v) {
		c.kind = kindText
	}
}

// guessKind returns the family a column's first value suggests; fits then checks it.
func guessKind(v []byte) columnKind {
	if _, ok := parseBool(v); ok {
		return kindBool
	}
	if _, ok := scanTime(v); ok {
		return kindTime
	}
	if _, ok := scanNumber(v); ok {
		return kindNumber
	}
	return kindText
}

// fits reports whether v belongs to the column's family, narrowing the column's type to admit it.
func (c *csvColumn) fits(v []byte) bool {
	switch c.kind {
	case kindBool:
		_, ok := parseBool(v)
		return ok
	case kindTime:
		ts, ok := scanTime(v)
		if !ok {
			return false
		}
		if ts.hasTime {
			c.notDate = true
		}
		if ts.hasOffset {
			c.offset = true
		} else {
			c.plain = true
		}
		return true
	case kindNumber:
		ns, ok := scanNumber(v)
		if !ok {
			return false
		}
		if !ns.isInt {
			c.notInt = true
		}
		if !ns.isDecimal {
			c.notDecimal = true
		}
		if !ns.special {
			c.finite = true
		}
		c.intDigits = max(c.intDigits, ns.intDigits)
		c.scale = max(c.scale, ns.scale)
		return true
	}
	return false
}

func (c *csvColumn) countDistinct(v []byte) {
	if c.tooMany {
		return
	}
	if c.distinct == nil {
		c.distinct = make(map[string]int32)
	}
	idx, ok := c.distinct[string(v)]
	if !ok {
		if len(c.distinct) == maxDictionarySize {
			c.tooMany = true
			c.dropDictionary()
			return
		}
		idx = int32(len(c.distinct))
		value := string(v)
		c.distinct[value] = idx
		c.dictValues = append(c.dictValues, value)
	}
	c.indices = append(c.indices, idx)
}

func (c *csvColumn) dropDictionary() {
	c.distinct, c.dictValues, c.indices = nil, nil, nil
}

// resolve settles the column's type once every value has been seen. It reports whether the
// column's distinct values still need counting, because it turned to text part way.
func (c *csvColumn) resolve() (needsCount bool) {
	switch c.kind {
	case kindBool:
		c.typ = arrow.FixedWidthTypes.Boolean
	case kindTime:
		switch {
		case !c.notDate:
			c.typ = arrow.FixedWidthTypes.Date32
		case c.offset && c.plain:
			// Some values name their offset and some do not; reading the others as UTC would
			// silently guess, so the column stays text.
			c.kind = kindText
		default:
			c.typ = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		}
	case kindNumber:
		switch {
		case !c.finite:
			c.kind = kindText // NaN or Inf alone are more likely words than numbers
		case !c.notInt:
			c.typ = arrow.PrimitiveTypes.Int64
		case !c.notDecimal && c.intDigits+c.scale <= decimalPrecision:
			c.typ = &arrow.Decimal128Type{Precision: decimalPrecision, Scale: int32(c.scale)}
		default:
			c.typ = arrow.PrimitiveTypes.Float64
		}
	}
	if c.kind != kindText && c.kind != kindUnknown {
		return false
	}
	c.typ = arrow.BinaryTypes.String
	if c.values > 0 && !c.distinctFromStart && c.kind == kindText {
		c.dropDictionary()
		c.tooMany = false
		return true
	}
	c.decideDictionary()
	return false
}

// decideDictionary dictionary-encodes a text column when few of its values are distinct: at most
// maxDictionarySize, and at most half its non-NULL values.
func (c *csvColumn) decideDictionary() {
	n := int64(len(c.distinct))
	if c.values > 0 && !c.tooMany && 2*n <= c.values {
		c.dictionary = true
		c.typ = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
		c.distinct = nil // the second pass reads indices and dictValues
		return
	}
	c.dropDictionary()
}

// csvFile reads one CSV file: the first pass infers the schema, the second builds the batches.
type csvFile struct {
	path    string
	f       *os.File
	scanner *csvScanner
	columns []*csvColumn
	schema  *arrow.Schema
}

func openCSV(path string) (*csvFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read source file: %w", err)
	}
	return &csvFile{path: path, f: f}, nil
}

func (r *csvFile) close() { _ = r.f.Close() }

// rewind starts reading the file again from the top.
func (r *csvFile) rewind() error {
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read %s: %w", r.path, err)
	}
	r.scanner = newCSVScanner(r.f)
	return nil
}

// errorAt formats a problem with a value as path:line: column name: msg.
func (r *csvFile) errorAt(line, field int, msg string) error {
	col := fmt.Sprintf("column %d", field+1)
	if field < len(r.columns) {
		col = "column " + r.columns[field].name
	}
	return fmt.Errorf("%s:%d: %s: %s", r.path, line, col, msg)
}

// nextRecord reads the next record, checking it is well formed, valid UTF-8, and as wide as the
// header.
func (r *csvFile) nextRecord() (bool, error) {
	s := r.scanner
	ok, err := s.next()
	if err != nil {
		var se *csvSyntaxError
		if errors.As(err, &se) {
			return false, r.errorAt(se.line, se.field, se.msg)
		}
		return false, fmt.Errorf("read %s: %w", r.path, err)
	}
	if !ok {
		return false, nil
	}
	if !utf8.Valid(s.buf) {
		for i := range s.numFields() {
			if !utf8.Valid(s.field(i)) {
				return false, r.errorAt(s.lines[i], i, "invalid UTF-8; save the file as UTF-8")
			}
		}
	}
	if r.columns != nil && s.numFields() != len(r.columns) {
		return false, fmt.Errorf("%s:%d: row has %d fields but the header has %d; quote values that contain commas",
			r.path, s.recLine, s.numFields(), len(r.columns))
	}
	return true, nil
}

// readHeader reads the header row and checks its names.
func (r *csvFile) readHeader() error {
	ok, err := r.nextRecord()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: file is empty; a CSV file needs a header row naming its columns", r.path)
	}
	s := r.scanner
	seen := make(map[string]int, s.numFields())
	columns := make([]*csvColumn, s.numFields())
	for i := range columns {
		name := string(s.field(i))
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("%s:%d: column %d: the header names no column; give every column a name",
				r.path, s.recLine, i+1)
		}
		if j, dup := seen[name]; dup {
			return fmt.Errorf("%s:%d: column %d: duplicate column name %q (also column %d); column names must be unique",
				r.path, s.recLine, i+1, name, j+1)
		}
		seen[name] = i
		columns[i] = &csvColumn{name: name}
	}
	r.columns = columns
	return nil
}

// eachRecord calls fn with the scanner on each record left in the file, checking ctx every
// batchRows records.
func (r *csvFile) eachRecord(ctx context.Context, fn func(s *csvScanner)) error {
	for n := 0; ; n++ {
		if n%batchRows == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("read %s: %w", r.path, err)
			}
		}
		ok, err := r.nextRecord()
		if err != nil || !ok {
			return err
		}
		fn(r.scanner)
	}
}

// inferSchema is the first pass: it reads every record and settles each column's type.
func (r *csvFile) inferSchema(ctx context.Context) error {
	if err := r.rewind(); err != nil {
		return err
	}
	if err := r.readHeader(); err != nil {
		return err
	}
	err := r.eachRecord(ctx, func(s *csvScanner) {
		for i, c := range r.columns {
			if s.isNull(i) {
				c.nulls++
				continue
			}
			c.observe(s.field(i))
		}
	})
	if err != nil {
		return err
	}
	var recount []*csvColumn
	for _, c := range r.columns {
		if c.resolve() {
			recount = append(recount, c)
		}
	}
	if len(recount) > 0 {
		if err := r.countDistinct(ctx, recount); err != nil {
			return err
		}
	}
	fields := make([]arrow.Field, len(r.columns))
	for i, c := range r.columns {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: c.nulls > 0}
	}
	r.schema = arrow.NewSchema(fields, nil)
	return nil
}

// countDistinct reads the file again to count the distinct values of columns that turned to
// text after the first pass had stopped counting for them. It is rare: a column of numbers or
// dates with a stray word in it.
func (r *csvFile) countDistinct(ctx context.Context, columns []*csvColumn) error {
	index := make([]int, len(columns))
	for i, c := range columns {
		for j, h := range r.columns {
			if h == c {
				index[i] = j
			}
		}
	}
	if err := r.rewind(); err != nil {
		return err
	}
	if _, err := r.nextRecord(); err != nil {
		return err
	}
	err := r.eachRecord(ctx, func(s *csvScanner) {
		for i, c := range columns {
			if !s.isNull(index[i]) {
				c.countDistinct(s.field(index[i]))
			}
		}
	})
	if err != nil {
		return err
	}
	for _, c := range columns {
		c.decideDictionary()
	}
	return nil
}

// columnBuilder appends one CSV column's values to an Arrow builder of its type.
type columnBuilder struct {
	col *csvColumn
	b   array.Builder
	// next is the position in col.indices of the next value of a dictionary column.
	next int
	// chunks holds the finished arrays, one a batch; for a dictionary column, the indices.
	chunks []arrow.Array
}

func newColumnBuilder(mem memory.Allocator, c *csvColumn) *columnBuilder {
	typ := c.typ
	if c.dictionary {
		typ = arrow.PrimitiveTypes.Int32
	}
	return &columnBuilder{col: c, b: array.NewBuilder(mem, typ)}
}

func (cb *columnBuilder) release() {
	cb.b.Release()
	for _, a := range cb.chunks {
		a.Release()
	}
	cb.chunks = nil
}

// appendValue appends a non-NULL value; the first pass has checked it fits the column's type.
func (cb *columnBuilder) appendValue(v []byte) error {
	c := cb.col
	if c.dictionary {
		if cb.next == len(c.indices) || c.dictValues[c.indices[cb.next]] != string(v) {
			return errors.New("value differs from the first reading; was the file changed while being read?")
		}
		cb.b.(*array.Int32Builder).Append(c.indices[cb.next])
		cb.next++
		return nil
	}
	switch b := cb.b.(type) {
	case *array.StringBuilder:
		b.BinaryBuilder.Append(v)
	case *array.Int64Builder:
		n, ok := parseInt64(v)
		if !ok {
			return fmt.Errorf("%q is not an integer; was the file changed while being read?", v)
		}
		b.Append(n)
	case *array.Decimal128Builder:
		b.Append(parseDecimal(v, c.scale))
	case *array.Float64Builder:
		b.Append(parseFloat(v))
	case *array.BooleanBuilder:
		x, _ := parseBool(v)
		b.Append(x)
	case *array.Date32Builder:
		ts, _ := scanTime(v)
		b.Append(arrow.Date32(ts.days))
	case *array.TimestampBuilder:
		ts, _ := scanTime(v)
		b.Append(arrow.Timestamp(ts.micros))
	default:
		return fmt.Errorf("no CSV reader for type %s", c.typ)
	}
	return nil
}

// readBatches is the second pass: it builds the table's batches, batchRows rows each.
func (r *csvFile) readBatches(ctx context.Context, mem memory.Allocator, batchRows int) ([]arrow.RecordBatch, error) {
	if err := r.rewind(); err != nil {
		return nil, err
	}
	if _, err := r.nextRecord(); err != nil {
		return nil, err
	}
	builders := make([]*columnBuilder, len(r.columns))
	for i, c := range r.columns {
		builders[i] = newColumnBuilder(mem, c)
	}
	defer func() {
		for _, cb := range builders {
			cb.release()
		}
	}()

	s := r.scanner
	rows, batches := 0, 0
	finishBatch := func() {
		for _, cb := range builders {
			cb.chunks = append(cb.chunks, cb.b.NewArray())
		}
		rows = 0
		batches++
	}
	for {
		if rows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read %s: %w", r.path, err)
			}
			for _, cb := range builders {
				cb.b.Reserve(batchRows)
			}
		}
		ok, err := r.nextRecord()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		for i, cb := range builders {
			if s.isNull(i) {
				cb.b.AppendNull()
				continue
			}
			if err := cb.appendValue(s.field(i)); err != nil {
				return nil, r.errorAt(s.lines[i], i, err.Error())
			}
		}
		if rows++; rows == batchRows {
			finishBatch()
		}
	}
	if rows > 0 {
		finishBatch()
	}
	return r.assemble(mem, builders, batches)
}

// assemble turns the built columns into record batches, giving every batch of a dictionary column
// the same dictionary array.
func (r *csvFile) assemble(mem memory.Allocator, builders []*columnBuilder, batches int) ([]arrow.RecordBatch, error) {
	for _, cb := range builders {
		c := cb.col
		if !c.dictionary {
			continue
		}
		db := array.NewStringBuilder(mem)
		defer db.Release()
		db.AppendValues(c.dictValues, nil)
		dict := db.NewArray()
		defer dict.Release()
		for i, indices := range cb.chunks {
			cb.chunks[i] = array.NewDictionaryArray(c.typ, indices, dict)
			indices.Release()
		}
	}
	out := make([]arrow.RecordBatch, 0, batches)
	cols := make([]arrow.Array, len(builders))
	for i := range batches {
		for j, cb := range builders {
			cols[j] = cb.chunks[i]
		}
		rows := int64(cols[0].Len())
		out = append(out, array.NewRecordBatch(r.schema, cols, rows))
	}
	return out, nil
}
