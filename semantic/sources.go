package semantic

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/postgres"
)

// SourcesResolver returns a SchemaResolver backed by the engine's sources: the demo connection
// and files.
func SourcesResolver(s *engine.Sources) SchemaResolver { return sourcesResolver{s} }

type sourcesResolver struct{ s *engine.Sources }

func (r sourcesResolver) TableSchema(ctx context.Context, src Source) (*arrow.Schema, error) {
	if src.File != "" {
		return r.s.TableSchema(ctx, engine.FileSource, src.File)
	}
	schema, err := r.s.TableSchema(ctx, src.Connection, src.Table)
	if !errors.Is(err, engine.ErrUnknownTable) {
		return schema, err
	}
	var nt *postgres.NoTableError
	switch {
	case errors.As(err, &nt):
		// Suggest names the way the definition wrote this one: qualified when it was.
		schema, _, _ := postgres.ParseTableName(src.Table)
		if schema != "" {
			schema = nt.Schema
		}
		tables := make([]string, len(nt.Tables))
		for i, t := range nt.Tables {
			tables[i] = postgres.FormatTableName(schema, t)
		}
		return nil, &UnknownTableError{Connection: src.Connection, Table: src.Table, Tables: tables}
	case src.Connection == engine.DemoSource:
		return nil, &UnknownTableError{Connection: src.Connection, Table: src.Table, Tables: demodata.TableNames()}
	}
	return nil, err
}

// OpenConnection opens a warehouse the definitions declare.
func (r sourcesResolver) OpenConnection(ctx context.Context, c *Connection) error {
	return r.s.OpenWarehouse(ctx, postgres.ConnectionConfig{Name: c.Name, URL: c.URL, PoolSize: c.PoolSize, StatementTimeout: c.StatementTimeout})
}

// Preload reads every file a catalog's models point at, so that a server starts only once all
// of its data is readable and the first query pays no load.
func Preload(ctx context.Context, c *Catalog, s *engine.Sources) error {
	for _, m := range c.Models() {
		if m.Source.File == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := s.Table(engine.FileSource, m.Source.File); err != nil {
			return fmt.Errorf("%s: model %s: %w", m.Source.Pos, m.Name, err)
		}
	}
	return nil
}
