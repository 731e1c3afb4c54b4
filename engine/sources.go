package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/source"
)

// The sources a scan can name: the built-in demo connection, and files.
const (
	DemoSource = "demo"
	FileSource = "file"
)

// ErrUnknownTable is wrapped by errors about a table its source does not have.
var ErrUnknownTable = errors.New("unknown table")

// Sources serves the tables that data models point at: the generated demo dataset (source "demo")
// and CSV or Parquet files (source "file", named by path), each file read into memory once. It
// implements TableResolver and is safe for concurrent use.
type Sources struct {
	mem   memory.Allocator
	mu    sync.Mutex
	demo  *demodata.Dataset
	files map[string]*fileTable
}

type fileTable struct {
	once  sync.Once
	table *source.Table
	err   error
}

// NewSources returns sources that allocate file tables from mem.
func NewSources(mem memory.Allocator) *Sources {
	return &Sources{mem: mem, files: map[string]*fileTable{}}
}

// SetDemo makes d the demo connection's data; the Sources release it on Close.
func (s *Sources) SetDemo(d *demodata.Dataset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.demo != nil {
		s.demo.Release()
	}
	s.demo = d
}

// Tables returns the tables a connection has, and whether the connection exists. Files are not
// listed.
func (s *Sources) Tables(connection string) ([]string, bool) {
	if connection == DemoSource {
		return demodata.TableNames(), true
	}
	return nil, false
}

// TableSchema returns a table's schema without reading its rows where the source allows: the demo
// knows its schemas before generating anything.
func (s *Sources) TableSchema(ctx context.Context, src, name string) (*arrow.Schema, error) {
	switch src {
	case DemoSource:
		sc, ok := demodata.Schema(name)
		if !ok {
			return nil, fmt.Errorf("%w: the demo has no table %q (it has %v)", ErrUnknownTable, name, demodata.TableNames())
		}
		return sc, nil
	case FileSource:
		return source.FileSchema(ctx, name)
	}
	return nil, unknownConnection(src)
}

func unknownConnection(src string) error {
	return fmt.Errorf("unknown connection %q; models can read the built-in %q connection or a file", src, DemoSource)
}

// Table returns the table to scan, reading a file on first use.
func (s *Sources) Table(src, name string) (*source.Table, error) {
	switch src {
	case DemoSource:
		s.mu.Lock()
		d := s.demo
		s.mu.Unlock()
		if d == nil {
			return nil, fmt.Errorf("the demo dataset is not loaded")
		}
		t := d.Table(name)
		if t == nil {
			return nil, fmt.Errorf("%w: the demo has no table %q", ErrUnknownTable, name)
		}
		return t, nil
	case FileSource:
		s.mu.Lock()
		f := s.files[name]
		if f == nil {
			f = &fileTable{}
			s.files[name] = f
		}
		s.mu.Unlock()
		f.once.Do(func() { f.table, f.err = source.ReadFile(context.Background(), s.mem, name) })
		return f.table, f.err
	}
	return nil, unknownConnection(src)
}

// Files returns the paths of the files read so far, sorted.
func (s *Sources) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.files))
	for p := range s.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// SizeBytes returns the bytes the demo dataset and the files read so far hold in memory.
func (s *Sources) SizeBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total int64
	if s.demo != nil {
		for _, t := range s.demo.Tables() {
			total += t.SizeBytes()
		}
	}
	for _, f := range s.files {
		if f.table != nil {
			total += f.table.SizeBytes()
		}
	}
	return total
}

// Close releases every table.
func (s *Sources) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.demo != nil {
		s.demo.Release()
		s.demo = nil
	}
	for _, f := range s.files {
		if f.table != nil {
			f.table.Release()
		}
	}
	s.files = map[string]*fileTable{}
}
