package store

import (
	"errors"
	"path/filepath"
	"testing"
)

func openTestSQLite(t *testing.T, path string) *SQLStore {
	t.Helper()
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteConformance(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		runStoreConformance(t, func(t *testing.T) (Store, func(*testing.T) Store) {
			path := filepath.Join(t.TempDir(), "koujing.db")
			again := func(t *testing.T) Store { return openTestSQLite(t, path) }
			return again(t), again
		})
	})
	t.Run("Memory", func(t *testing.T) {
		runStoreConformance(t, func(t *testing.T) (Store, func(*testing.T) Store) {
			return openTestSQLite(t, ""), nil
		})
	})
}

func TestSQLiteSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "koujing.db")
	s := openTestSQLite(t, path)
	var journal string
	var synchronous, foreignKeys, busy int
	err := s.write.QueryRowContext(t.Context(), "SELECT journal_mode, synchronous, foreign_keys, timeout FROM pragma_journal_mode(), pragma_synchronous(), pragma_foreign_keys(), pragma_busy_timeout()").
		Scan(&journal, &synchronous, &foreignKeys, &busy)
	if err != nil {
		t.Fatal(err)
	}
	if journal != "wal" || synchronous != 2 || foreignKeys != 1 || busy != int(sqliteBusyTimeout.Milliseconds()) {
		t.Errorf("journal_mode %s, synchronous %d, foreign_keys %d, busy_timeout %d; want wal, 2 (FULL), 1, %d",
			journal, synchronous, foreignKeys, busy, sqliteBusyTimeout.Milliseconds())
	}
	// Opening again runs no migration twice.
	s.Close()
	s = openTestSQLite(t, path)
	var n int
	if err := s.read.QueryRowContext(t.Context(), "SELECT count(*) FROM koujing_schema_migrations WHERE component = 'semantic'").Scan(&n); err != nil || n != len(migrations) {
		t.Errorf("%d migrations recorded (%v), want %d", n, err, len(migrations))
	}
}

func TestSQLiteUnavailable(t *testing.T) {
	dir := t.TempDir()
	for name, path := range map[string]string{
		"a missing directory": filepath.Join(dir, "no", "such", "dir", "koujing.db"),
		"a directory":         dir,
	} {
		if _, err := OpenSQLite(t.Context(), path); !errors.Is(err, ErrUnavailable) {
			t.Errorf("open %s: %v, want ErrUnavailable", name, err)
		}
	}
}

func TestSQLiteMemoryStoresAreApart(t *testing.T) {
	a, b := openTestSQLite(t, ""), openTestSQLite(t, ":memory:")
	insertVersions(t, a, metric("gmv", Published))
	if got := versionsOf(t, b, VersionQuery{}); len(got) != 0 {
		t.Errorf("one store in memory sees another's versions: %+v", got)
	}
	// Its reading connections see what its writer wrote.
	if got := versionsOf(t, a, VersionQuery{}); len(got) != 1 {
		t.Errorf("a store in memory reads %+v", got)
	}
}
