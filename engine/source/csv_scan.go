package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// csvScanner splits a CSV stream into records as RFC 4180 describes them: fields separated by
// commas, records by LF or CRLF, and fields that hold commas, quotes or line breaks enclosed in
// double quotes, with a quote inside written twice.
//
// It is written by hand rather than on encoding/csv because the reader must tell an empty
// unquoted field (NULL) from an empty quoted one (the empty string), which encoding/csv hides, and
// because splitting bytes in place lets a record's fields be read without allocating.
//
// Quotes inside an unquoted field are kept as they are (5" pipe), as most CSV writers expect.
// Blank lines between records are skipped, as most CSV tools do.
type csvScanner struct {
	r *bufio.Reader
	// line is the number of physical lines read so far.
	line int
	// recLine is the line on which the current record starts.
	recLine int
	// buf holds the current record's field contents back to back, quotes removed.
	buf []byte
	// ends[i] is the offset in buf at which field i ends.
	ends []int
	// quoted[i] reports whether field i was enclosed in quotes.
	quoted []bool
	// lines[i] is the line on which field i starts.
	lines []int
	// long holds a line longer than the reader's buffer.
	long []byte
}

// csvSyntaxError is a malformed record: where it is, and what is wrong there. The reader adds the
// file name and the column's name.
type csvSyntaxError struct {
	line  int
	field int
	msg   string
}

func (e *csvSyntaxError) Error() string {
	return fmt.Sprintf("line %d: column %d: %s", e.line, e.field+1, e.msg)
}

const utf8BOM = "\xef\xbb\xbf"

// newCSVScanner returns a scanner over r, skipping a UTF-8 byte order mark at its start (Excel
// writes one).
func newCSVScanner(r io.Reader) *csvScanner {
	br := bufio.NewReaderSize(r, 1<<20)
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
	}
	return &csvScanner{r: br}
}

// numFields returns the number of fields in the current record.
func (s *csvScanner) numFields() int { return len(s.ends) }

// field returns field i of the current record. The bytes are valid until the next call to next.
func (s *csvScanner) field(i int) []byte {
	start := 0
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.buf[start:s.ends[i]]
}

// isNull reports whether field i of the current record is empty and unquoted.
func (s *csvScanner) isNull(i int) bool {
	start := 0
	if i > 0 {
		start = s.ends[i-1]
	}
	return start == s.ends[i] && !s.quoted[i]
}

// readLine returns the next physical line, with its line break, or io.EOF when there is none.
func (s *csvScanner) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.long = append(s.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = s.r.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	s.line++
	return line, nil
}

// trimLineBreak removes a trailing LF, CRLF, or (on a last line that has no LF) CR.
func trimLineBreak(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

func (s *csvScanner) endField(line int, quoted bool) {
	s.ends = append(s.ends, len(s.buf))
	s.quoted = append(s.quoted, quoted)
	s.lines = append(s.lines, line)
}

// next reads the next record. It returns false at the end of the input; a malformed record is a
// *csvSyntaxError.
func (s *csvScanner) next() (bool, error) {
	s.buf, s.ends, s.quoted, s.lines = s.buf[:0], s.ends[:0], s.quoted[:0], s.lines[:0]
	var line []byte
	for {
		l, err := s.readLine()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if line = trimLineBreak(l); len(line) > 0 {
			break
		}
	}
	s.recLine = s.line
	for {
		fieldLine := s.line
		if len(line) == 0 || line[0] != '"' {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				s.buf = append(s.buf, line...)
				s.endField(fieldLine, false)
				return true, nil
			}
			s.buf = append(s.buf, line[:i]...)
			s.endField(fieldLine, false)
			line = line[i+1:]
			continue
		}
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			if i < 0 {
				// The line break belongs to the field; CRLF inside a field reads as LF.
				s.buf = append(s.buf, line...)
				s.buf = append(s.buf, '\n')
				l, err := s.readLine()
				if err == io.EOF {
					return false, &csvSyntaxError{line: fieldLine, field: len(s.ends),
						msg: "quoted field is never closed; check for a missing closing quote"}
				}
				if err != nil {
					return false, err
				}
				line = trimLineBreak(l)
				continue
			}
			s.buf = append(s.buf, line[:i]...)
			line = line[i+1:]
			if len(line) > 0 && line[0] == '"' {
				s.buf = append(s.buf, '"')
				line = line[1:]
				continue
			}
			break
		}
		s.endField(fieldLine, true)
		if len(line) == 0 {
			return true, nil
		}
		if line[0] != ',' {
			return false, &csvSyntaxError{line: s.line, field: len(s.ends) - 1,
				msg: "text after the closing quote; write a quote inside a quoted field as two quotes (\"\")"}
		}
		line = line[1:]
	}
}
