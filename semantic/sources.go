package semantic

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine"
)

// SourcesResolver returns a SchemaResolver backed by the engine's sources: the demo connection
// and files.
func SourcesResolver(s *engine.Sources) SchemaResolver { return sourcesResolver{s} }

type sourcesResolver struct{ s *engine.Sources }

func (r sourcesResolver) TableSchema(ctx context.Context, src Source) (*arrow.Schema, error) {
	if src.File != "" {
		return r.s.TableSchema(ctx, engine.FileSource, src.File)
	}
	if tables, ok := r.s.Tables(src.Connection); ok && !slices.Contains(tables, src.Table) {
		return nil, &UnknownTableError{Connection: src.Connection, Table: src.Table, Tables: tables}
	}
	return r.s.TableSchema(ctx, src.Connection, src.Table)
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
