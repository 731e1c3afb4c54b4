package store

import (
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
