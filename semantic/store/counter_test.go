package store

import (
	"testing"

	"github.com/koujing/koujing/engine/pgtest"
)

// TestVersionChanges checks SQLite's count of the transactions that changed versions, as a
// transaction sees it: a version inserted or moved counts once its transaction commits, other
// changes do not, and a transaction that fails counts nothing. PostgreSQL keeps no count.
func TestVersionChanges(t *testing.T) {
	s, err := OpenSQLite(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := func() int64 {
		t.Helper()
		return read(t, s, func(tx Tx) (int64, error) {
			n, ok, err := tx.(VersionCounter).VersionChanges()
			if !ok && err == nil {
				t.Fatal("SQLite keeps no count")
			}
			return n, err
		})
	}
	start := count()
	var inTx int64
	vs := insertVersions(t, s, metric("gmv", Published))
	mustUpdate(t, s, func(tx Tx) error {
		n, _, err := tx.(VersionCounter).VersionChanges()
		inTx = n
		return err
	})
	if got := count(); got != start+1 || inTx != start+1 {
		t.Errorf("after one insert: %d (%d in a transaction), want %d", got, inTx, start+1)
	}
	mustUpdate(t, s, func(tx Tx) error { return tx.SetVersionStatus(vs[0].ID, Deprecated, vs[0].PublishedAt, nil, nil) })
	mustUpdate(t, s, func(tx Tx) error {
		_, err := tx.AppendEvent(Event{Tenant: "demo", Actor: "ann@demo", Type: "query"})
		return err
	})
	if got := count(); got != start+2 {
		t.Errorf("after a change of status and an event: %d, want %d", got, start+2)
	}

	pool := pgtest.Connect(t)
	pg := openTestPostgres(t, pool, pgtest.NewSchema(t, pool))
	mustUpdate(t, pg, func(tx Tx) error {
		if _, ok, err := tx.(VersionCounter).VersionChanges(); ok || err != nil {
			t.Errorf("PostgreSQL counts: %v %v", ok, err)
		}
		return nil
	})
}
