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
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/engine/source"
)

// The sources a scan can name: the built-in demo connection, and files.
const (
	DemoSource = "demo"
	FileSource = "file"
)

// ErrUnknownTable is wrapped by errors about a table its source does not have.
var ErrUnknownTable = errors.New("unknown table")

// Sources serves the tables that data models point at: the generated demo dataset (source "demo"),
// CSV or Parquet files (source "file", named by path), each read into memory once, and tables of
// PostgreSQL-compatible warehouses (source: the connection's name), which stay where they are
// and are queried. It implements TableResolver and is safe for concurrent use.
type Sources struct {
	mem        memory.Allocator
	mu         sync.Mutex
	demo       *demodata.Dataset
	files      map[string]*fileTable
	warehouses map[string]*postgres.Connection
}

type fileTable struct {
	once  sync.Once
	table *source.Table
	err   error
}

// NewSources returns sources that allocate file tables from mem.
func NewSources(mem memory.Allocator) *Sources {
	return &Sources{mem: mem, files: map[string]*fileTable{}, warehouses: map[string]*postgres.Connection{}}
}

// OpenWarehouse opens a connection to a PostgreSQL-compatible warehouse, whose tables are then
// the source of that name. The database need not be up yet: queries report it unavailable until
// it is.
func (s *Sources) OpenWarehouse(ctx context.Context, cfg postgres.ConnectionConfig) error {
	if cfg.Name == DemoSource || cfg.Name == FileSource {
		return fmt.Errorf("connection name %q is reserved", cfg.Name)
	}
	c, err := postgres.Open(ctx, cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.warehouses[cfg.Name]; old != nil {
		old.Close()
	}
	s.warehouses[cfg.Name] = c
	return nil
}

// Warehouse returns the warehouse connection of that name, if source is one.
func (s *Sources) Warehouse(source string) (*postgres.Connection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.warehouses[source]
	return c, ok
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
	if c, ok := s.Warehouse(src); ok {
		sc, err := c.TableSchema(ctx, name)
		if errors.Is(err, postgres.ErrNoTable) {
			return nil, fmt.Errorf("%w: %w", ErrUnknownTable, err)
		}
		return sc, err
	}
	return nil, unknownConnection(src)
}

func unknownConnection(src string) error {
	return fmt.Errorf("unknown connection %q; declare it under connections:, or read the built-in %q connection or a file", src, DemoSource)
}

// Table returns the in-memory table to scan, reading a file on first use. Warehouse tables are not
// read into memory: the planner queries them (see Warehouse).
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
	for _, c := range s.warehouses {
		c.Close()
	}
	s.warehouses = map[string]*postgres.Connection{}
}
