package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/exec"
)

// binaryResults asks for every result column in PostgreSQL's binary format.
var binaryResults = []int16{pgtype.BinaryFormatCode}

// errOperatorClosed is why a query's context is cancelled when its operator closes.
var errOperatorClosed = errors.New("the query's operator was closed")

// queryOperator runs one statement and yields its rows as record batches. Rows arrive as raw
// binary values (pgconn's ResultReader) and are decoded column by column straight into typed
// builders, with no per-value interface boxing.
type queryOperator struct {
	env  *exec.Env
	conn *Connection
	stmt *Statement

	// ctx is the query's context: Open's, cancelled by Close (or a cancelled Next) so that pgx
	// sends the server a cancel request (see Open in conn.go).
	ctx     context.Context
	cancel  context.CancelCauseFunc
	session *pgxpool.Conn
	result  *pgconn.ResultReader // nil once the result is read to its end, or abandoned
	columns []*column
	rows    int64 // rows read so far, for messages
	last    int   // rows of the last full batch, reserved in the builders up front
	err     error // the error that ended the query, returned again by later calls
	out     arrow.RecordBatch
}

var _ exec.Operator = (*queryOperator)(nil)

// NewQueryOperator returns an operator that runs stmt on c and yields its rows as batches of
// stmt.Schema, of env's batch size. Open takes a session from c's pool and starts the statement;
// the session returns to the pool when the last row is read, or at Close, which cancels the
// statement on the server if it is still running, so a consumer that stops early leaves no work
// behind. A cancelled context does the same and makes Open or Next return an error wrapping the
// context's error.
//
// Each result column goes into the field at its position: integers of any width into any
// integer field the value fits, and numeric when integral; numeric and integers into decimal128
// at the field's scale (a value with more decimals, or more digits than the precision, is an
// error, never rounded); real into float32; real, double precision and integers into float64,
// and numeric to the nearest float64; text, varchar, char and name into utf8 or a dictionary of
// utf8; boolean; date into date32 or timestamp; timestamp and timestamptz into timestamp[us]
// (the field's zone is kept; infinity is an error). NULL goes into any field. Open checks the
// column count and each column's type against the schema before the first row.
func NewQueryOperator(env *exec.Env, c *Connection, stmt *Statement) exec.Operator {
	return &queryOperator{env: env, conn: c, stmt: stmt}
}

// Schema returns the statement's schema.
func (o *queryOperator) Schema() *arrow.Schema { return o.stmt.Schema }

// Open starts the statement and checks its result's columns against the schema.
func (o *queryOperator) Open(ctx context.Context) error {
	if o.stmt == nil || o.stmt.Schema == nil {
		return fmt.Errorf("PostgreSQL connection %q: a query needs a statement and its schema", o.conn.name)
	}
	values, oids, err := encodeParams(o.stmt.Params)
	if err != nil {
		return fmt.Errorf("PostgreSQL connection %q: %w", o.conn.name, err)
	}
	o.ctx, o.cancel = context.WithCancelCause(ctx)
	session, err := o.conn.acquire(o.ctx)
	if err != nil {
		o.err = err
		return err
	}
	o.session = session
	result := session.Conn().PgConn().ExecParams(o.ctx, o.stmt.SQL, values, oids, nil, binaryResults)
	fields := result.FieldDescriptions()
	if fields == nil {
		// The statement failed before describing its rows, or has none.
		_, err := result.Close()
		o.release()
		if err == nil {
			err = errors.New("the statement returns no rows")
		}
		o.err = o.queryError(ctx, err)
		return o.err
	}
	o.result = result
	if err := o.prepare(fields); err != nil {
		o.finish()
		o.err = fmt.Errorf("PostgreSQL connection %q: %w", o.conn.name, err)
		return o.err
	}
	return nil
}

// prepare makes a column reader per result column, checking that each goes into its field.
func (o *queryOperator) prepare(fields []pgconn.FieldDescription) error {
	schema := o.stmt.Schema
	if len(fields) != schema.NumFields() {
		return fmt.Errorf("the statement returns %d columns, but its schema has %d", len(fields), schema.NumFields())
	}
	types := o.session.Conn().TypeMap()
	o.columns = make([]*column, 0, len(fields))
	for i, fd := range fields {
		col, err := newColumn(o.env.Mem, schema.Field(i), fd.DataTypeOID, types)
		if err != nil {
			return fmt.Errorf("column %d (%s): %w", i+1, schema.Field(i).Name, err)
		}
		o.columns = append(o.columns, col)
	}
	return nil
}

// Next reads up to a batch of rows.
func (o *queryOperator) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if o.out != nil {
		o.out.Release()
		o.out = nil
	}
	if o.err != nil {
		return nil, o.err
	}
	if o.result == nil {
		return nil, nil
	}
	if ctx.Err() != nil {
		o.finish()
		o.err = o.queryError(ctx, ctx.Err())
		return nil, o.err
	}
	if ctx.Done() != nil {
		// Reading blocks in pgconn, which watches Open's context; cancel that one when this ends.
		stop := context.AfterFunc(ctx, func() { o.cancel(context.Cause(ctx)) })
		defer stop()
	}

	limit := o.env.BatchSize()
	for _, c := range o.columns {
		c.reserve(o.last)
	}
	rows := 0
	for rows < limit && o.result.NextRow() {
		values := o.result.Values()
		for i, c := range o.columns {
			v := values[i]
			if v == nil {
				c.builder.AppendNull()
				continue
			}
			if err := c.decode(v); err != nil {
				o.err = fmt.Errorf("PostgreSQL connection %q: column %s, row %d: %w", o.conn.name, c.name, o.rows+int64(rows)+1, err)
				o.finish()
				return nil, o.err
			}
		}
		rows++
	}
	o.rows += int64(rows)
	if rows == limit {
		o.last = limit
	} else {
		// NextRow said there are no more rows: the statement ended, or failed.
		_, err := o.result.Close()
		o.result = nil
		o.release()
		if err != nil {
			o.err = o.queryError(ctx, err)
			return nil, o.err
		}
		if rows == 0 {
			return nil, nil
		}
	}
	o.out = o.batch(rows)
	return o.out, nil
}

// batch makes a record batch of the rows in the builders, which it leaves empty.
func (o *queryOperator) batch(rows int) arrow.RecordBatch {
	arrays := make([]arrow.Array, len(o.columns))
	for i, c := range o.columns {
		arrays[i] = c.newArray()
		defer arrays[i].Release()
	}
	return array.NewRecordBatch(o.stmt.Schema, arrays, int64(rows))
}

// Close ends the query (cancelling it on the server if it still runs), returns its session to the
// pool, and releases the builders and the last batch.
func (o *queryOperator) Close() error {
	if o.out != nil {
		o.out.Release()
		o.out = nil
	}
	o.finish()
	if o.cancel != nil {
		o.cancel(errOperatorClosed)
	}
	for _, c := range o.columns {
		c.builder.Release()
	}
	o.columns = nil
	return nil
}

// drainBeforeCancel is how long finish reads an abandoned result before it cancels the statement.
// A result that has arrived whole by then (most small ones) needs no cancel request, which costs
// a connection to the server and a 100ms pause in pgx so that a late cancel cannot hit the
// session's next statement; one still running is cancelled after this short wait.
const drainBeforeCancel = 20 * time.Millisecond

// finish stops the statement if its result is not yet read to the end: it reads what remains of
// the result and, if that takes longer than drainBeforeCancel, cancels the query's context, for
// which pgx sends the server a cancel request (the server then ends the result with an error at
// once; if it does not answer within cancelGrace, pgx closes the session). Then it returns the
// session to the pool.
func (o *queryOperator) finish() {
	if o.result != nil {
		timer := time.AfterFunc(drainBeforeCancel, func() { o.cancel(errOperatorClosed) })
		_, _ = o.result.Close() // the statement was abandoned: its error, if any, is of no use
		timer.Stop()
		o.result = nil
	}
	o.release()
}

// release returns the session to the pool; pgxpool closes it instead if it is broken or still
// busy.
func (o *queryOperator) release() {
	if o.session != nil {
		o.session.Release()
		o.session = nil
	}
}

// queryError returns the error for err, which ended the statement: the context's error if the
// query was cancelled (by ctx, the caller's context now, or Open's), else err classified.
func (o *queryOperator) queryError(ctx context.Context, err error) error {
	for _, c := range []context.Context{ctx, o.ctx} {
		if cerr := c.Err(); cerr != nil {
			if cause := context.Cause(c); cause != nil && cause != cerr && cause != errOperatorClosed {
				return fmt.Errorf("PostgreSQL connection %q: the query was cancelled: %w (%w)", o.conn.name, cerr, cause)
			}
			return fmt.Errorf("PostgreSQL connection %q: the query was cancelled: %w", o.conn.name, cerr)
		}
	}
	return o.conn.errorf("query", err)
}

// column reads one result column into a builder of its field's type.
type column struct {
	name    string
	builder array.Builder
	// decode appends one value that is not NULL, given in PostgreSQL's binary format.
	decode func(v []byte) error
	// lastData is the bytes of string values in the last batch, reserved up front in the next.
	lastData int
}

// reserve makes room for rows more values, like the last batch's.
func (c *column) reserve(rows int) {
	if rows <= 0 {
		return
	}
	c.builder.Reserve(rows)
	if s, ok := c.builder.(*array.StringBuilder); ok && c.lastData > 0 {
		s.ReserveData(c.lastData)
	}
}

// newArray returns the values appended so far, leaving the builder empty.
func (c *column) newArray() arrow.Array {
	switch b := c.builder.(type) {
	case *array.StringBuilder:
		c.lastData = b.DataLen()
	case *array.BinaryDictionaryBuilder:
		a := b.NewArray()
		// Each batch gets a dictionary of its own values, rather than of every value so far.
		b.ResetFull()
		return a
	}
	return c.builder.NewArray()
}

// PostgreSQL's epoch, 2000-01-01, from the Unix epoch.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1000000
	microsPerDay  = 86400 * 1000000
)

// newColumn returns the reader of a result column of PostgreSQL type oid into field f, or an
// error saying why that type does not go into f's.
func newColumn(mem memory.Allocator, f arrow.Field, oid uint32, types *pgtype.Map) (*column, error) {
	if d, ok := f.Type.(*arrow.DictionaryType); ok && d.ValueType.ID() != arrow.STRING {
		return nil, fmt.Errorf("a dictionary of %s cannot be read; only dictionaries of utf8 can", d.ValueType)
	}
	if t, ok := f.Type.(*arrow.TimestampType); ok && t.Unit != arrow.Microsecond {
		return nil, fmt.Errorf("timestamps in %s cannot be read; PostgreSQL's are in microseconds", t.Unit)
	}
	b := array.NewBuilder(mem, f.Type)
	decode := decoder(b, oid)
	if decode == nil {
		b.Release()
		return nil, fmt.Errorf("PostgreSQL returns %s, which cannot be read as %s", typeName(types, oid), f.Type)
	}
	return &column{name: f.Name, builder: b, decode: decode}, nil
}

// typeName returns the name of PostgreSQL's type oid, for messages.
func typeName(types *pgtype.Map, oid uint32) string {
	if t, ok := types.TypeForOID(oid); ok {
		return t.Name
	}
	return fmt.Sprintf("the type with OID %d", oid)
}

// decoder returns the function that decodes a binary value of type oid and appends it to b, or
// nil if values of that type do not go into b's.
func decoder(b array.Builder, oid uint32) func([]byte) error {
	switch b := b.(type) {
	case *array.Int64Builder:
		if oid == pgtype.Int8OID {
			return func(v []byte) error {
				if len(v) != 8 {
					return errLength(v, 8)
				}
				b.Append(int64(binary.BigEndian.Uint64(v)))
				return nil
			}
		}
		if read := intReader(oid); read != nil {
			return func(v []byte) error {
				x, err := read(v)
				if err != nil {
					return err
				}
				b.Append(x)
				return nil
			}
		}
	case *array.Int32Builder:
		return narrowInt(b.Append, intReader(oid), math.MinInt32, math.MaxInt32)
	case *array.Int16Builder:
		return narrowInt(b.Append, intReader(oid), math.MinInt16, math.MaxInt16)
	case *array.Int8Builder:
		return narrowInt(b.Append, intReader(oid), math.MinInt8, math.MaxInt8)
	case *array.Float64Builder:
		return float64Decoder(b, oid)
	case *array.Float32Builder:
		if oid == pgtype.Float4OID {
			return func(v []byte) error {
				if len(v) != 4 {
					return errLength(v, 4)
				}
				b.Append(math.Float32frombits(binary.BigEndian.Uint32(v)))
				return nil
			}
		}
	case *array.Decimal128Builder:
		return decimalDecoder(b, oid)
	case *array.StringBuilder:
		if isText(oid) {
			// The session's client_encoding is UTF8 (pgx sets it), so text is valid utf8.
			return func(v []byte) error {
				b.BinaryBuilder.Append(v)
				return nil
			}
		}
	case *array.BinaryDictionaryBuilder:
		if isText(oid) {
			return b.Append
		}
	case *array.BooleanBuilder:
		if oid == pgtype.BoolOID {
			return func(v []byte) error {
				if len(v) != 1 {
					return errLength(v, 1)
				}
				b.Append(v[0] != 0)
				return nil
			}
		}
	case *array.Date32Builder:
		if oid == pgtype.DateOID {
			return func(v []byte) error {
				d, err := readDate(v)
				if err != nil {
					return err
				}
				b.Append(arrow.Date32(d))
				return nil
			}
		}
	case *array.TimestampBuilder:
		return timestampDecoder(b, oid)
	}
	return nil
}

// isText reports whether oid is a type whose binary format is its text: text, varchar, char,
// name, "char", and unknown (an untyped literal in a select list).
func isText(oid uint32) bool {
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.QCharOID, pgtype.UnknownOID:
		return true
	}
	return false
}

// intReader returns the function reading a value of type oid as an int64, for the integer types
// and numeric (which must then be integral), or nil for other types.
func intReader(oid uint32) func([]byte) (int64, error) {
	switch oid {
	case pgtype.Int2OID:
		return func(v []byte) (int64, error) {
			if len(v) != 2 {
				return 0, errLength(v, 2)
			}
			return int64(int16(binary.BigEndian.Uint16(v))), nil
		}
	case pgtype.Int4OID:
		return func(v []byte) (int64, error) {
			if len(v) != 4 {
				return 0, errLength(v, 4)
			}
			return int64(int32(binary.BigEndian.Uint32(v))), nil
		}
	case pgtype.Int8OID:
		return func(v []byte) (int64, error) {
			if len(v) != 8 {
				return 0, errLength(v, 8)
			}
			return int64(binary.BigEndian.Uint64(v)), nil
		}
	case pgtype.NumericOID:
		return numericInt64
	}
	return nil
}

// narrowInt returns a decoder into an integer type narrower than int64, which fails on values
// outside [lo, hi]; nil if read is nil.
func narrowInt[T int8 | int16 | int32](appendValue func(T), read func([]byte) (int64, error), lo, hi int64) func([]byte) error {
	if read == nil {
		return nil
	}
	return func(v []byte) error {
		x, err := read(v)
		if err != nil {
			return err
		}
		if x < lo || x > hi {
			return fmt.Errorf("%d is outside the range of int%d", x, 8*binary.Size(T(0)))
		}
		appendValue(T(x))
		return nil
	}
}

func float64Decoder(b *array.Float64Builder, oid uint32) func([]byte) error {
	switch oid {
	case pgtype.Float8OID:
		return func(v []byte) error {
			if len(v) != 8 {
				return errLength(v, 8)
			}
			b.Append(math.Float64frombits(binary.BigEndian.Uint64(v)))
			return nil
		}
	case pgtype.Float4OID:
		return func(v []byte) error {
			if len(v) != 4 {
				return errLength(v, 4)
			}
			b.Append(float64(math.Float32frombits(binary.BigEndian.Uint32(v))))
			return nil
		}
	case pgtype.NumericOID:
		var scratch []byte
		return func(v []byte) error {
			f, err := numericFloat64(v, &scratch)
			if err != nil {
				return err
			}
			b.Append(f)
			return nil
		}
	}
	if read := intReader(oid); read != nil {
		return func(v []byte) error {
			x, err := read(v)
			if err != nil {
				return err
			}
			b.Append(float64(x))
			return nil
		}
	}
	return nil
}

func decimalDecoder(b *array.Decimal128Builder, oid uint32) func([]byte) error {
	t := b.Type().(*arrow.Decimal128Type)
	if oid == pgtype.NumericOID {
		return func(v []byte) error {
			d, err := numericDecimal(v, t.Precision, t.Scale)
			if err != nil {
				return err
			}
			b.Append(d)
			return nil
		}
	}
	if read := intReader(oid); read != nil {
		return func(v []byte) error {
			x, err := read(v)
			if err != nil {
				return err
			}
			d, err := intDecimal(x, t.Precision, t.Scale)
			if err != nil {
				return err
			}
			b.Append(d)
			return nil
		}
	}
	return nil
}

func timestampDecoder(b *array.TimestampBuilder, oid uint32) func([]byte) error {
	switch oid {
	case pgtype.TimestampOID, pgtype.TimestamptzOID:
		// The session is in UTC, so both are microseconds since 2000-01-01 UTC.
		return func(v []byte) error {
			if len(v) != 8 {
				return errLength(v, 8)
			}
			x := int64(binary.BigEndian.Uint64(v))
			switch {
			case x == math.MaxInt64 || x == math.MinInt64:
				return errors.New("an infinite timestamp cannot be read; filter it out or replace it in SQL")
			case x > math.MaxInt64-pgEpochMicros:
				return errors.New("the timestamp is past the range of microseconds since 1970 in 64 bits")
			}
			b.Append(arrow.Timestamp(x + pgEpochMicros))
			return nil
		}
	case pgtype.DateOID:
		return func(v []byte) error {
			d, err := readDate(v)
			if err != nil {
				return err
			}
			if d > math.MaxInt64/microsPerDay || d < math.MinInt64/microsPerDay {
				return errors.New("the date is outside the range of timestamps")
			}
			b.Append(arrow.Timestamp(d * microsPerDay))
			return nil
		}
	}
	return nil
}

// readDate reads a date as days since 1970-01-01.
func readDate(v []byte) (int64, error) {
	if len(v) != 4 {
		return 0, errLength(v, 4)
	}
	d := int32(binary.BigEndian.Uint32(v))
	switch {
	case d == math.MaxInt32 || d == math.MinInt32:
		return 0, errors.New("an infinite date cannot be read; filter it out or replace it in SQL")
	case d > math.MaxInt32-pgEpochDays:
		return 0, errors.New("the date is past the range of date32")
	}
	return int64(d) + pgEpochDays, nil
}

func errLength(v []byte, want int) error {
	return fmt.Errorf("a binary value of %d bytes where %d were expected", len(v), want)
}

// numeric is a value of PostgreSQL's numeric type in its binary format: base-10000 digits, the
// first of weight w, so that the value is Σ digit[i] × 10000^(w−i); a sign (or NaN or an
// infinity); and the display scale, the decimals it prints with.
type numeric struct {
	digits []byte // big-endian uint16s
	weight int
	sign   uint16
	dscale int
}

// The sign field of a binary numeric.
const (
	numericPositive = 0x0000
	numericNegative = 0x4000
	numericNaN      = 0xC000
	numericPosInf   = 0xD000
	numericNegInf   = 0xF000
)

// pow10 holds 10^0 … 10^19, every power of ten a uint64 holds.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

var (
	errNumericDigits   = errors.New("it has more digits than the type holds")
	errNumericDecimals = errors.New("it has more decimals than the type holds, and values are never rounded")
)

func parseNumeric(v []byte) (numeric, error) {
	if len(v) < 8 {
		return numeric{}, errLength(v, 8)
	}
	n := int(binary.BigEndian.Uint16(v))
	if len(v) != 8+2*n {
		return numeric{}, errLength(v, 8+2*n)
	}
	return numeric{
		digits: v[8:],
		weight: int(int16(binary.BigEndian.Uint16(v[2:]))),
		sign:   binary.BigEndian.Uint16(v[4:]),
		dscale: int(binary.BigEndian.Uint16(v[6:])),
	}, nil
}

func (n numeric) ndigits() int       { return len(n.digits) / 2 }
func (n numeric) digit(i int) uint64 { return uint64(binary.BigEndian.Uint16(n.digits[2*i:])) }
func (n numeric) negative() bool     { return n.sign == numericNegative }

// finite returns an error for NaN and the infinities, which no decimal or integer holds.
func (n numeric) finite() error {
	switch n.sign {
	case numericPositive, numericNegative:
		return nil
	case numericNaN:
		return errors.New("numeric NaN has no decimal or integer value")
	case numericPosInf, numericNegInf:
		return fmt.Errorf("numeric %s has no decimal or integer value", n)
	}
	return fmt.Errorf("a numeric with the unknown sign 0x%04x", n.sign)
}

// scaled returns |n| × 10^scale as a 128-bit unsigned integer, exactly: an error if n has
// non-zero digits below 10^-scale, or if the result has more than maxDigits (≤ 38) digits.
func (n numeric) scaled(scale, maxDigits int) (hi, lo uint64, err error) {
	nd := n.ndigits()
	if nd == 0 {
		return 0, 0, nil
	}
	if n.weight >= 0 && 4*n.weight+decimalDigits(n.digit(0))+scale > maxDigits {
		return 0, 0, errNumericDigits
	}
	// After the bound above the result is below 10^38, and every step's value below the result,
	// so the 128-bit arithmetic cannot overflow.
	unit := 4 * (n.weight + 1) // the decimal exponent just above the next group's digits
	for i := range nd {
		d := n.digit(i)
		switch keep := unit + scale; { // how many of the group's 4 digits lie at or above 10^-scale
		case keep >= 4:
			hi, lo = mulAdd(hi, lo, 10000, d)
			unit -= 4
		case keep > 0:
			cut := pow10[4-keep]
			if d%cut != 0 {
				return 0, 0, errNumericDecimals
			}
			hi, lo = mulAdd(hi, lo, pow10[keep], d/cut)
			unit -= keep
		default:
			if d != 0 {
				return 0, 0, errNumericDecimals
			}
		}
	}
	for e := unit + scale; e > 0; {
		k := min(e, 19)
		hi, lo = mulAdd(hi, lo, pow10[k], 0)
		e -= k
	}
	return hi, lo, nil
}

// mulAdd returns (hi, lo) × m + a in 128 bits, assuming no overflow.
func mulAdd(hi, lo, m, a uint64) (uint64, uint64) {
	h, l := bits.Mul64(lo, m)
	l, carry := bits.Add64(l, a, 0)
	return hi*m + h + carry, l
}

// decimalDigits returns how many decimal digits x has (0 for 0).
func decimalDigits(x uint64) int {
	n := 0
	for ; x > 0; x /= 10 {
		n++
	}
	return n
}

// smallNumeric is the fast path of reading a binary numeric scaled by 10^scale: for up to four
// base-10000 digits whose scaled value has at most maxDigits (and at most 19) digits, it returns
// the magnitude and sign. ok is false for every other value, which the general path reads (and
// reports errors for).
func smallNumeric(v []byte, scale, maxDigits int) (m uint64, negative, ok bool) {
	if len(v) < 8 || len(v) > 16 {
		return 0, false, false
	}
	nd := int(binary.BigEndian.Uint16(v))
	sign := binary.BigEndian.Uint16(v[4:])
	if len(v) != 8+2*nd || sign != numericPositive && sign != numericNegative {
		return 0, false, false
	}
	for i := 8; i < len(v); i += 2 {
		m = m*10000 + uint64(binary.BigEndian.Uint16(v[i:]))
	}
	// The value is m × 10^(4(weight−nd+1)); scaled, m × 10^e.
	e := 4*(int(int16(binary.BigEndian.Uint16(v[2:])))-nd+1) + scale
	limit := min(maxDigits, 19)
	switch {
	case nd == 0:
		return 0, false, true
	case e >= 0:
		if e > limit || m >= pow10[limit-e] {
			return 0, false, false
		}
		m *= pow10[e]
	case -e <= 16:
		cut := pow10[-e]
		if m%cut != 0 {
			return 0, false, false
		}
		m /= cut
		if m >= pow10[limit] {
			return 0, false, false
		}
	default:
		return 0, false, false
	}
	return m, sign == numericNegative, true
}

// numericDecimal reads a binary numeric as a decimal128 of the given precision and scale, exactly.
func numericDecimal(v []byte, precision, scale int32) (decimal128.Num, error) {
	if m, neg, ok := smallNumeric(v, int(scale), int(precision)); ok {
		d := decimal128.New(0, m)
		if neg {
			d = d.Negate()
		}
		return d, nil
	}
	n, err := parseNumeric(v)
	if err != nil {
		return decimal128.Num{}, err
	}
	if err := n.finite(); err != nil {
		return decimal128.Num{}, err
	}
	hi, lo, err := n.scaled(int(scale), int(precision))
	if err != nil {
		return decimal128.Num{}, fmt.Errorf("numeric %s does not fit decimal(%d,%d): %w", n, precision, scale, err)
	}
	d := decimal128.New(int64(hi), lo)
	if n.negative() {
		d = d.Negate()
	}
	return d, nil
}

// numericInt64 reads a binary numeric that holds an integer as an int64.
func numericInt64(v []byte) (int64, error) {
	if m, neg, ok := smallNumeric(v, 0, 18); ok {
		if neg {
			return -int64(m), nil
		}
		return int64(m), nil
	}
	n, err := parseNumeric(v)
	if err != nil {
		return 0, err
	}
	if err := n.finite(); err != nil {
		return 0, err
	}
	_, lo, err := n.scaled(0, 19)
	switch {
	case err == errNumericDecimals:
		return 0, fmt.Errorf("numeric %s is not an integer; round it in SQL or read it as a decimal", n)
	case err != nil || lo > math.MaxInt64 && !(n.negative() && lo == 1<<63):
		return 0, fmt.Errorf("numeric %s is outside the range of int64", n)
	case n.negative():
		return -int64(lo), nil
	}
	return int64(lo), nil
}

// numericFloat64 reads a binary numeric as the nearest float64. scratch is reused for the digits
// of values the fast path does not take.
func numericFloat64(v []byte, scratch *[]byte) (float64, error) {
	n, err := parseNumeric(v)
	if err != nil {
		return 0, err
	}
	switch n.sign {
	case numericNaN:
		return math.NaN(), nil
	case numericPosInf:
		return math.Inf(1), nil
	case numericNegInf:
		return math.Inf(-1), nil
	}
	nd := n.ndigits()
	exp := 4 * (n.weight - nd + 1) // the value is the digits, as one integer, × 10^exp
	var f float64
	if nd <= 4 && exp >= -22 && exp <= 22 {
		var m uint64
		for i := range nd {
			m = m*10000 + n.digit(i)
		}
		if m < 1<<53 {
			// Both m and 10^|exp| are exact in a float64, so one multiplication or division
			// rounds correctly (Clinger's fast path).
			f = float64(m)
			if exp >= 0 {
				f *= float64pow10[exp]
			} else {
				f /= float64pow10[-exp]
			}
			if n.negative() {
				f = -f
			}
			return f, nil
		}
	}
	buf := (*scratch)[:0]
	if n.negative() {
		buf = append(buf, '-')
	}
	for i := range nd {
		d := n.digit(i)
		buf = append(buf, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
	}
	buf = append(buf, 'e')
	buf = strconv.AppendInt(buf, int64(exp), 10)
	*scratch = buf
	f, err = strconv.ParseFloat(string(buf), 64)
	if err != nil {
		return 0, fmt.Errorf("numeric %s is outside the range of float64", n)
	}
	return f, nil
}

var float64pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// String prints n as PostgreSQL does, with its display scale, for messages.
func (n numeric) String() string {
	switch n.sign {
	case numericNaN:
		return "NaN"
	case numericPosInf:
		return "Infinity"
	case numericNegInf:
		return "-Infinity"
	}
	nd := n.ndigits()
	group := func(i int) uint64 {
		if i < 0 || i >= nd {
			return 0
		}
		return n.digit(i)
	}
	var b []byte
	if n.negative() {
		b = append(b, '-')
	}
	if n.weight < 0 {
		b = append(b, '0')
	}
	for i := 0; i <= n.weight; i++ {
		if i == 0 {
			b = strconv.AppendUint(b, group(0), 10)
		} else {
			d := group(i)
			b = append(b, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
		}
	}
	if n.dscale > 0 {
		b = append(b, '.')
		for j := 1; j <= n.dscale; j++ {
			d := group(n.weight + (j+3)/4)
			b = append(b, byte('0'+d/pow10[3-(j-1)%4]%10))
		}
	}
	return string(b)
}

// intDecimal returns x as a decimal128 of the given precision and scale, or an error if it has
// too many digits for it.
func intDecimal(x int64, precision, scale int32) (decimal128.Num, error) {
	u := uint64(x)
	if x < 0 {
		u = -u
	}
	if decimalDigits(u)+int(scale) > int(precision) {
		return decimal128.Num{}, fmt.Errorf("%d has more digits than decimal(%d,%d) holds", x, precision, scale)
	}
	hi, lo := uint64(0), u
	for e := int(scale); e > 0; {
		k := min(e, 19)
		hi, lo = mulAdd(hi, lo, pow10[k], 0)
		e -= k
	}
	d := decimal128.New(int64(hi), lo)
	if x < 0 {
		d = d.Negate()
	}
	return d, nil
}
