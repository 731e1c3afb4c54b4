package semantic

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/koujing/koujing/semantic/store"
)

// QualityFlag says that a metric of a result is not in good health: the worst status of the
// latest runs of the rules that bear on it, its score, and the rules that did not pass.
type QualityFlag struct {
	Metric string               `json:"metric"`
	Status store.QualityStatus  `json:"status"`
	Score  *float64             `json:"score"`
	Rules  []QualityFlaggedRule `json:"rules"`
}

// QualityFlaggedRule is a rule whose latest run did not pass.
type QualityFlaggedRule struct {
	Name   string              `json:"name"`
	Kind   QualityKind         `json:"kind"`
	Status store.QualityStatus `json:"status"`
	// Value is what the run measured, in the kind's unit (QualityKind.Unit); nil when it could
	// not measure.
	Value *float64 `json:"value"`
	// Threshold describes the thresholds the run was judged by, in words.
	Threshold string    `json:"threshold"`
	At        time.Time `json:"at"`
}

// QualityFlags returns a flag for each of the metrics whose rules' latest runs did not all pass,
// in the order given: what a result that includes them carries, on every surface (GraphQL's
// extensions.quality, query_metrics over MCP, notices over SQL). Scores count every rule that
// bears on the metric; the rules listed are those the caller may see. Metrics without rules, or
// whose rules pass, get no flag. Metrics the caller may not see get none either.
//
// The latest runs come from a cache that this server's runs keep current, so that flagging a
// result costs no store read per query; runs recorded by other servers sharing the store are
// seen within latestRunsTTL.
func (s *Service) QualityFlags(ctx context.Context, acc *Access, metrics []string) ([]QualityFlag, error) {
	g := s.opts.Governance
	if g == nil {
		return nil, nil
	}
	byMetric := map[string][]*QualityRule{}
	var names []string
	for _, name := range metrics {
		m := acc.Metric(name)
		if m == nil {
			continue
		}
		rules := acc.cat.QualityRulesOf(m)
		byMetric[name] = rules
		for _, r := range rules {
			if !slices.Contains(names, r.Name) {
				names = append(names, r.Name)
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	latest, err := g.latestRuns.get(ctx, g.store, names)
	if err != nil {
		return nil, err
	}
	var out []QualityFlag
	for _, name := range metrics {
		rules, ok := byMetric[name]
		if !ok {
			continue
		}
		score := ScoreQuality(rules, latest)
		if score.Status == "" || score.Status == store.QualityPass {
			continue
		}
		flag := QualityFlag{Metric: name, Status: score.Status, Score: score.Score, Rules: []QualityFlaggedRule{}}
		for _, r := range acc.VisibleQualityRules(rules) {
			if run, ok := latest[r.Name]; ok && run.Status != store.QualityPass {
				flag.Rules = append(flag.Rules, QualityFlaggedRule{Name: r.Name, Kind: r.Kind, Status: run.Status, Value: run.Value,
					Threshold: DescribeThreshold(r.Kind, run.Warn, run.Fail), At: run.StartedAt})
			}
		}
		out = append(out, flag)
	}
	return out, nil
}

// ResultQualityFlags is QualityFlags for a result being answered. A store that cannot be read
// loses the flags, not the result: the numbers were computed, and the log says why they carry no
// flag.
func (s *Service) ResultQualityFlags(ctx context.Context, acc *Access, metrics []string) []QualityFlag {
	flags, err := s.QualityFlags(ctx, acc, metrics)
	if err != nil {
		s.opts.Governance.log.WarnContext(ctx, "the quality flags of a result could not be read", "err", err)
	}
	return flags
}

// Message says what the flag means in one sentence, for a person or an assistant reading a
// result (a notice over SQL, the text of an MCP answer): "metric gmv_placed crossed a quality
// red line (score 92.86 of 100): rule orders_fresh (freshness) failed, measuring 7440h0m0s
// (warns above 24h0m0s, fails above 48h0m0s), at 2026-11-30 09:00:00 UTC".
func (f QualityFlag) Message() string {
	var b strings.Builder
	b.WriteString("metric " + f.Metric)
	switch f.Status {
	case store.QualityFail:
		b.WriteString(" crossed a quality red line")
	case store.QualityWarn:
		b.WriteString(" passed a quality warning threshold")
	default:
		b.WriteString(" has quality checks that could not run")
	}
	if f.Score != nil {
		b.WriteString(" (score " + strconv.FormatFloat(*f.Score, 'f', -1, 64) + " of 100)")
	}
	if len(f.Rules) == 0 {
		b.WriteString("; its rules that did not pass are not visible to you")
		return b.String()
	}
	for i, r := range f.Rules {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		b.WriteString(sep)
		fmt.Fprintf(&b, "rule %s (%s) %s", r.Name, r.Kind, ruleOutcome[r.Status])
		if r.Value != nil {
			b.WriteString(", measuring " + FormatQualityValue(r.Kind.Unit(), *r.Value))
		}
		if r.Threshold != "" {
			b.WriteString(" (" + r.Threshold + ")")
		}
		b.WriteString(", at " + r.At.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	return b.String()
}

// ruleOutcome says in words what a run's status means.
var ruleOutcome = map[store.QualityStatus]string{store.QualityFail: "failed", store.QualityWarn: "warned",
	store.QualityError: "could not run", store.QualityPass: "passed"}

// latestRunsTTL is how long the latest runs read from the store are trusted. Runs of this
// server update the cache as they are recorded; the TTL bounds how long a run recorded by
// another server on the same store goes unseen.
const latestRunsTTL = 10 * time.Second

// latestRunCache keeps the newest run of each quality rule read from the store, by rule name,
// including the rules that never ran. It is safe for concurrent use.
type latestRunCache struct {
	mu sync.Mutex
	// readAt is when the cache was started afresh; past latestRunsTTL it starts again.
	readAt time.Time
	// known holds the rules whose latest run was read; runs those that have one.
	known map[string]bool
	runs  map[string]store.QualityRun
}

// get returns the latest run of each named rule that has one, reading from st those it does not
// hold. Reads hold the lock, so that a run recorded meanwhile (put) is never overwritten by an
// older read.
func (c *latestRunCache) get(ctx context.Context, st store.Store, names []string) (map[string]store.QualityRun, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.known == nil || now.Sub(c.readAt) > latestRunsTTL {
		c.readAt, c.known, c.runs = now, map[string]bool{}, map[string]store.QualityRun{}
	}
	var missing []string
	for _, n := range names {
		if !c.known[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		runs, err := readLatestQualityRuns(ctx, st, missing)
		if err != nil {
			return nil, err
		}
		for _, n := range missing {
			c.known[n] = true
		}
		maps.Copy(c.runs, runs)
	}
	out := make(map[string]store.QualityRun, len(names))
	for _, n := range names {
		if r, ok := c.runs[n]; ok {
			out[n] = r
		}
	}
	return out, nil
}

// put notes a run this server has recorded as its rule's latest.
func (c *latestRunCache) put(run store.QualityRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.known == nil {
		return
	}
	c.known[run.Rule] = true
	c.runs[run.Rule] = run
}
