package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/koujing/koujing/engine/pgtest"
)

// benchStores runs bench against a store in a SQLite file and one in a PostgreSQL schema.
func benchStores(b *testing.B, bench func(b *testing.B, s Store)) {
	b.Run("SQLite", func(b *testing.B) {
		s, err := OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "koujing.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		bench(b, s)
	})
	b.Run("Postgres", func(b *testing.B) {
		pool := pgtest.Connect(b)
		s, err := OpenPostgres(b.Context(), pool, PostgresOptions{Schema: pgtest.NewSchema(b, pool)})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		bench(b, s)
	})
}

// benchDefinition is a metric's definition of a typical size.
func benchDefinition(name string) string {
	return fmt.Sprintf("name: %s\nlabel: %s\ndescription: Orders paid, shipped or completed, in yuan, net of refunds.\n"+
		"owner: finance\nmeasure: orders.amount\nfilters:\n  - status in ('paid', 'shipped', 'completed')\n", name, strings.ToUpper(name))
}

// BenchmarkUpdateInsertVersion measures a small publish-sized transaction: one version of one
// of 100 metrics inserted and an event appended.
func BenchmarkUpdateInsertVersion(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			name := fmt.Sprint("metric_", i%100)
			i++
			err := s.Update(b.Context(), func(tx Tx) error {
				v, err := tx.InsertVersion(Version{Kind: KindMetric, Name: name, Status: Draft, Definition: benchDefinition(name),
					Hash: "h", Author: "alice@acme"})
				if err != nil {
					return err
				}
				_, err = tx.AppendEvent(Event{Tenant: "acme", Actor: "alice@acme", Type: "definition.drafted",
					Object: "metric:" + name, Detail: fmt.Sprintf(`{"version":%d}`, v.Number)})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkServingVersions measures reading the catalog: the serving versions of 10,000
// metrics, each with a superseded version beside it.
func BenchmarkServingVersions(b *testing.B) {
	const metrics = 10000
	benchStores(b, func(b *testing.B, s Store) {
		for start := 0; start < metrics; start += 1000 {
			err := s.Update(b.Context(), func(tx Tx) error {
				for i := start; i < start+1000; i++ {
					name := fmt.Sprint("metric_", i)
					for _, status := range []Status{Superseded, Published} {
						v := Version{Kind: KindMetric, Name: name, Status: status, Definition: benchDefinition(name), Hash: "h", Author: "alice@acme"}
						if _, err := tx.InsertVersion(v); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		serving := []Status{Published, Deprecated, Gray, Retired}
		for b.Loop() {
			var n int
			err := s.View(b.Context(), func(tx Tx) error {
				vs, err := tx.Versions(VersionQuery{Statuses: serving})
				n = len(vs)
				return err
			})
			if err != nil || n != metrics {
				b.Fatalf("%d versions, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/metrics*1000, "ns/version")
	})
}
