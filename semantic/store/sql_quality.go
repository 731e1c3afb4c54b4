package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

const qualityRunColumns = "id, rule, kind, subject, version, objects, status, value, warn, fail, detail, query, triggered_by, actor, tenant, started_at, duration"

// InsertQualityRun stores a run, stamping a zero StartedAt with the time now. Its objects are kept
// as a JSON list (none reads back as nil); a value or threshold that is not a finite number is
// refused, as neither database keeps one faithfully.
func (t *tx) InsertQualityRun(r QualityRun) (QualityRun, error) {
	const what = "insert a quality run"
	r.StartedAt = orNow(r.StartedAt)
	r.Duration = r.Duration.Truncate(time.Microsecond)
	r.Objects = nilIfEmpty(r.Objects)
	r.Value, r.Warn, r.Fail = cloneFloat(r.Value), cloneFloat(r.Warn), cloneFloat(r.Fail)
	for _, f := range []*float64{r.Value, r.Warn, r.Fail} {
		if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
			return QualityRun{}, fmt.Errorf("metadata store in %s: %s: %v is not a finite number", t.s.d.where(), what, *f)
		}
	}
	if r.Detail == "" {
		r.Detail = "{}"
	}
	objects, err := nullJSON(r.Objects, r.Objects == nil)
	if err != nil {
		return QualityRun{}, err
	}
	err = t.insert(what, "INSERT INTO "+t.s.qualityRuns+
		" (rule, kind, subject, version, objects, status, value, warn, fail, detail, query, triggered_by, actor, tenant, started_at, duration)"+
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
		[]any{r.Rule, r.Kind, r.Subject, r.Version, objects, r.Status, nullFloat(r.Value), nullFloat(r.Warn), nullFloat(r.Fail),
			r.Detail, r.Query, r.Trigger, r.Actor, r.Tenant, r.StartedAt.UnixMicro(), r.Duration.Microseconds()},
		&r.ID)
	if err != nil {
		return QualityRun{}, err
	}
	return r, nil
}

// LatestQualityRuns returns the newest run of each named rule that has one, sorted by rule name.
func (t *tx) LatestQualityRuns(rules []string) ([]QualityRun, error) {
	var out []QualityRun
	for chunk := range chunks(rules, 500) {
		var b builder
		b.sql("SELECT " + qualityRunColumns + " FROM " + t.s.qualityRuns + " WHERE id IN (SELECT max(id) FROM " + t.s.qualityRuns +
			" WHERE rule IN " + list(&b, chunk) + " GROUP BY rule) ORDER BY rule")
		runs, err := collect(t.ctx, t.tx, &b, scanQualityRun)
		if err != nil {
			return nil, t.fail("read the latest quality runs", err)
		}
		out = append(out, runs...)
	}
	return out, nil
}

// ClaimSlot claims a schedule's period: the schedule's row is made if missing, then moved to slot
// if it holds an earlier one. In SQLite the transaction holds the file's write lock; in
// PostgreSQL two serializable transactions moving the same row cannot both commit, and one that
// lost is run again by Update, finding the slot taken.
func (t *tx) ClaimSlot(name string, slot time.Time) (bool, error) {
	const what = "claim a schedule slot"
	if err := t.writable(what); err != nil {
		return false, err
	}
	if _, err := t.exec("INSERT INTO "+t.s.slots+" (name, slot) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
		name, int64(math.MinInt64)); err != nil {
		return false, t.fail(what, err)
	}
	res, err := t.exec("UPDATE "+t.s.slots+" SET slot = $1 WHERE name = $2 AND slot < $1", slot.UnixMicro(), name)
	if err != nil {
		return false, t.fail(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, t.fail(what, err)
	}
	return n == 1, nil
}

// QualityRuns returns the runs q selects, newest first.
func (s *SQLStore) QualityRuns(ctx context.Context, q QualityRunQuery) ([]QualityRun, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if q.Rules != nil && len(q.Rules) == 0 || q.Subjects != nil && len(q.Subjects) == 0 {
		return nil, nil
	}
	var b builder
	b.sql("SELECT " + qualityRunColumns + " FROM " + s.qualityRuns + " WHERE true")
	if len(q.Rules) > 0 {
		b.sql(" AND rule IN " + list(&b, q.Rules))
	}
	if len(q.Subjects) > 0 {
		b.sql(" AND subject IN " + list(&b, q.Subjects))
	}
	if len(q.Statuses) > 0 {
		b.sql(" AND status IN " + list(&b, q.Statuses))
	}
	if q.Trigger != "" {
		b.sql(" AND triggered_by = " + b.arg(q.Trigger))
	}
	if !q.Since.IsZero() {
		b.sql(" AND started_at >= " + b.arg(q.Since.UnixMicro()))
	}
	if !q.Until.IsZero() {
		b.sql(" AND started_at < " + b.arg(q.Until.UnixMicro()))
	}
	if q.BeforeID > 0 {
		b.sql(" AND id < " + b.arg(q.BeforeID))
	}
	b.sql(" ORDER BY id DESC LIMIT " + b.arg(limit(q.Limit)))
	out, err := collect(ctx, s.read, &b, scanQualityRun)
	if err != nil {
		return nil, s.errorf("read quality runs", err)
	}
	return out, nil
}

// HoldLease takes or renews a lease in one transaction; see Store.
func (s *SQLStore) HoldLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, fmt.Errorf("metadata store in %s: hold lease %s: no holder", s.d.where(), name)
	}
	var held bool
	err := s.Update(ctx, func(t Tx) error {
		t1 := t.(*tx)
		const what = "hold a lease"
		if _, err := t1.exec("INSERT INTO "+s.leases+" (name, holder, expires_at) VALUES ($1, '', $2) ON CONFLICT (name) DO NOTHING",
			name, int64(math.MinInt64)); err != nil {
			return t1.fail(what, err)
		}
		res, err := t1.exec("UPDATE "+s.leases+" SET holder = $1, expires_at = $2 WHERE name = $3 AND (holder = $1 OR expires_at <= $4)",
			holder, now.Add(ttl).UnixMicro(), name, now.UnixMicro())
		if err != nil {
			return t1.fail(what, err)
		}
		n, err := res.RowsAffected()
		held = n == 1
		return t1.fail(what, err)
	})
	return held, err
}

// ReleaseLease ends holder's lease at once, so that another may take it; a lease held by
// another is left as it is.
func (s *SQLStore) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.Update(ctx, func(t Tx) error {
		t1 := t.(*tx)
		_, err := t1.exec("UPDATE "+s.leases+" SET holder = '', expires_at = $1 WHERE name = $2 AND holder = $3",
			int64(math.MinInt64), name, holder)
		return t1.fail("release a lease", err)
	})
}

func scanQualityRun(r scanner) (QualityRun, error) {
	var q QualityRun
	var objects sql.NullString
	var value, warn, fail sql.NullFloat64
	var started, duration int64
	err := r.Scan(&q.ID, &q.Rule, &q.Kind, &q.Subject, &q.Version, &objects, &q.Status, &value, &warn, &fail, &q.Detail,
		&q.Query, &q.Trigger, &q.Actor, &q.Tenant, &started, &duration)
	if err != nil {
		return q, err
	}
	q.Value, q.Warn, q.Fail = floatOf(value), floatOf(warn), floatOf(fail)
	q.StartedAt, q.Duration = fromMicros(started), time.Duration(duration)*time.Microsecond
	if list, err := fromJSON[[]string](objects); err != nil || list == nil {
		return q, err
	} else {
		q.Objects = *list
	}
	return q, nil
}

// nullFloat is an optional number's column value: NULL for nil.
func nullFloat(f *float64) sql.NullFloat64 {
	if f == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *f, Valid: true}
}

func floatOf(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

// cloneFloat copies an optional number, so that a run as stored shares nothing with the caller's.
func cloneFloat(f *float64) *float64 {
	if f == nil {
		return nil
	}
	v := *f
	return &v
}
