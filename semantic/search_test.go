package semantic_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// hitNames returns the names of hits: a metric's name, a dimension's qualified name.
func hitNames(hits []semantic.SearchHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		if h.Metric != nil {
			out[i] = h.Metric.Name
		} else {
			out[i] = h.Dimension.QualifiedName()
		}
	}
	return out
}

// TestSearch checks the catalog's search over the demo: English and Chinese, words and phrases,
// typos, metrics and dimensions together, ranked.
func TestSearch(t *testing.T) {
	svc := demoService(t)
	analyst := accessAs(t, svc, "analyst", nil)
	cases := []struct {
		name string
		text string
		// first are the hits expected first, in this order; also are hits expected further on.
		first []string
		also  []string
		// none are names that must not be found.
		none []string
	}{
		{"a Chinese word in synonyms", "支付", []string{"gmv_paid"}, []string{"buyers", "paid_order_count", "revenue_per_buyer", "orders.paid_at", "orders.is_paid"}, []string{"gmv_placed"}},
		{"a Chinese phrase spelled out", "客单价", []string{"aov", "aov_7d"}, nil, []string{"gmv_paid"}},
		{"a Chinese phrase without spaces", "下单金额", []string{"gmv_placed", "order_amount_p90_placed"}, nil, []string{"order_count", "ordering_customers"}},
		{"English words of a name", "gmv paid", []string{"gmv_paid"}, []string{"gmv_paid_7d", "gmv_paid_last_year"}, []string{"order_count"}},
		{"words in another order and case", "PAID gmv", []string{"gmv_paid"}, nil, nil},
		{"a typo in a label's word", "averge order", []string{"aov", "aov_7d"}, nil, []string{"order_count"}},
		{"a swap of letters in a name", "gmv_piad", []string{"gmv_paid"}, []string{"gmv_paid_7d"}, []string{"order_count"}},
		{"a typo in a Chinese phrase", "客单架", []string{"aov", "aov_7d"}, nil, nil},
		{"dimensions by a synonym", "区域", []string{"orders.region", "customers.region"}, nil, nil},
		{"a plural finds the singular", "paying customers", []string{"revenue_per_buyer"}, nil, nil},
		{"stop words need not match", "revenue per buyer", []string{"revenue_per_buyer"}, nil, nil},
		{"the start of a word", "refun", []string{"refund_count", "refund_rate"}, []string{"refunded_order_count"}, nil},
		{"English and Chinese together", "gmv 支付", []string{"gmv_paid"}, nil, []string{"buyers"}},
		{"full-width letters", "ＧＭＶ　paid", []string{"gmv_paid"}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := analyst.Search(semantic.SearchRequest{Text: c.text})
			if err != nil {
				t.Fatal(err)
			}
			got := hitNames(res.Hits)
			if res.Total != len(got) {
				t.Errorf("total %d, but %d hits", res.Total, len(got))
			}
			if len(got) < len(c.first) || !slices.Equal(got[:len(c.first)], c.first) {
				t.Errorf("%q found %v, want %v first", c.text, got, c.first)
			}
			for _, n := range c.also {
				if !slices.Contains(got, n) {
					t.Errorf("%q found %v, without %s", c.text, got, n)
				}
			}
			for _, n := range c.none {
				if slices.Contains(got, n) {
					t.Errorf("%q found %v, with %s", c.text, got, n)
				}
			}
			for i := 1; i < len(res.Hits); i++ {
				if res.Hits[i].Score > res.Hits[i-1].Score {
					t.Errorf("%s (%g) ranks below %s (%g)", got[i], res.Hits[i].Score, got[i-1], res.Hits[i-1].Score)
				}
			}
		})
	}
}

// TestSearchFallback checks the search that leaves words out when nothing holds them all: the
// words nothing holds first, then those read only as typos, then the last ones, as typed; a
// query that finds something as written leaves nothing out, and one whose every word is unknown
// finds nothing and leaves nothing out.
func TestSearchFallback(t *testing.T) {
	acc := demoService(t).Catalog().FullAccess()
	cases := []struct {
		name    string
		text    string
		first   string
		ignored []string
	}{
		{"a Chinese run nothing holds", "华东 支付金额", "gmv_paid", []string{"华东"}},
		{"words nothing holds and one read as a typo", "gmv for the East Regions", "gmv_", []string{"East", "Regions"}},
		{"a word nothing holds", "gmv zebra", "gmv_", []string{"zebra"}},
		{"a typo is kept when it fits", "华东 averge order", "aov", []string{"华东"}},
		{"the last word goes when no text holds both", "客单价 coupon", "aov", []string{"coupon"}},
		{"words found as written", "gmv paid", "gmv_paid", nil},
		{"every word unknown", "zebra 华东 unicorn", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := acc.Search(semantic.SearchRequest{Text: c.text})
			if err != nil {
				t.Fatal(err)
			}
			got := hitNames(res.Hits)
			if c.first == "" && len(got) != 0 || c.first != "" && (len(got) == 0 || !strings.HasPrefix(got[0], c.first)) {
				t.Errorf("%q found %v, want %s… first", c.text, got, c.first)
			}
			if !slices.Equal(res.Ignored, c.ignored) {
				t.Errorf("%q ignored %q, want %q", c.text, res.Ignored, c.ignored)
			}
		})
	}

	// Stop words may match but never rank: with them the order is the order without them.
	for _, q := range [][2]string{{"gmv for the year", "gmv year"}, {"refunds of the orders", "refunds orders"}} {
		with, _ := acc.Search(semantic.SearchRequest{Text: q[0]})
		without, _ := acc.Search(semantic.SearchRequest{Text: q[1]})
		if len(without.Hits) == 0 || !slices.Equal(hitNames(with.Hits), hitNames(without.Hits)) {
			t.Errorf("%q found %v, but %q %v", q[0], hitNames(with.Hits), q[1], hitNames(without.Hits))
		}
	}

	// A relaxed search finds what the words it kept find, in the same order, scored by the share
	// of the words kept.
	relaxed, _ := acc.Search(semantic.SearchRequest{Text: "华东 支付金额"})
	kept, _ := acc.Search(semantic.SearchRequest{Text: "支付金额"})
	if !slices.Equal(hitNames(relaxed.Hits), hitNames(kept.Hits)) || len(kept.Hits) == 0 || relaxed.Hits[0].Score != kept.Hits[0].Score/2 {
		t.Errorf("华东 支付金额 found %v (%g), but 支付金额 %v (%g)", hitNames(relaxed.Hits), relaxed.Hits[0].Score, hitNames(kept.Hits), kept.Hits[0].Score)
	}

	// A filter holds every word: it does not relax unless asked.
	for _, relax := range []bool{false, true} {
		res, err := acc.SearchMetrics(semantic.MetricSearch{Text: "华东 支付金额", Relax: relax})
		if err != nil {
			t.Fatal(err)
		}
		if found := len(res.Metrics) > 0; found != relax || relax && !slices.Equal(res.Ignored, []string{"华东"}) {
			t.Errorf("relax %v found %d metrics, ignored %q", relax, len(res.Metrics), res.Ignored)
		}
	}
}

// TestSearchMatches checks what a hit says it matched, for highlighting: the fields, best first,
// and the parts of each, in characters.
func TestSearchMatches(t *testing.T) {
	acc := demoService(t).Catalog().FullAccess()
	res, err := acc.Search(semantic.SearchRequest{Text: "客单价", Limit: 1})
	if err != nil || len(res.Hits) != 1 || res.Total != 2 {
		t.Fatalf("客单价 found %+v (%v), want aov of 2", res, err)
	}
	m := res.Hits[0].Matches
	if len(m) != 1 || m[0].Field != semantic.SearchSynonym || m[0].Text != "客单价" || !slices.Equal(m[0].Spans, []semantic.TextSpan{{Start: 0, End: 3}}) {
		t.Errorf("aov matched %+v", m)
	}
	res, _ = acc.Search(semantic.SearchRequest{Text: "gmv paid", Limit: 1})
	m = res.Hits[0].Matches
	if m[0].Field != semantic.SearchName || m[0].Text != "gmv_paid" || !slices.Equal(m[0].Spans, []semantic.TextSpan{{0, 3}, {4, 8}}) {
		t.Errorf("gmv_paid matched %+v first", m[0])
	}
	if m[1].Field != semantic.SearchLabel || !slices.Equal(m[1].Spans, []semantic.TextSpan{{0, 3}, {5, 9}}) {
		t.Errorf("gmv_paid matched %+v second", m[1])
	}
	res, _ = acc.Search(semantic.SearchRequest{Text: "支付", Kinds: []semantic.SearchKind{semantic.SearchDimension}})
	if got := hitNames(res.Hits); !slices.Equal(got, []string{"orders.is_paid", "orders.paid_at"}) {
		t.Errorf("支付 among dimensions found %v", got)
	}
	for _, h := range res.Hits {
		for _, m := range h.Matches {
			for _, s := range m.Spans {
				if got := string([]rune(m.Text)[s.Start:s.End]); got != "支付" {
					t.Errorf("%s highlights %q in %q", h.Dimension.QualifiedName(), got, m.Text)
				}
			}
		}
	}
}

// TestSearchHidden checks that what a caller may not see is neither found nor counted, and
// changes nothing of what it does see: east_sales does not see the finance metrics coupon_rate
// and net_take_rate, nor the dimension customers.name, so what it finds — hits, scores, totals,
// typos corrected and phrases matched loosely — is what everyone would find in a catalog without
// them.
func TestSearchHidden(t *testing.T) {
	svc := demoService(t)
	east := accessAs(t, svc, "east_sales", map[string]any{"region": "east"})
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		t.Fatal(err)
	}
	var kept []semantic.Definition
	for _, d := range defs {
		switch {
		case d.Kind == store.KindMetric && (d.Name == "coupon_rate" || d.Name == "net_take_rate"):
			continue
		case d.Kind == store.KindModel && d.Name == "customers":
			i := strings.Index(d.YAML, "  - name: name\n")
			j := strings.Index(d.YAML, "  - name: segment\n")
			if i < 0 || j < i {
				t.Fatalf("the customers model has changed:\n%s", d.YAML)
			}
			d.YAML = d.YAML[:i] + d.YAML[j:]
		}
		kept = append(kept, d)
	}
	src := engine.NewSources(memory.NewGoAllocator())
	defer src.Close()
	without, err := semantic.LoadDefinitions(context.Background(), kept, semantic.SourcesResolver(src), "")
	if err != nil {
		t.Fatal(err)
	}
	if without.Dimension("customers.name") != nil || without.Metric("coupon_rate") != nil {
		t.Fatal("the catalog without the hidden definitions has them")
	}
	same := func(x, y semantic.SearchHit) bool {
		return hitNames([]semantic.SearchHit{x})[0] == hitNames([]semantic.SearchHit{y})[0] && x.Score == y.Score
	}
	for _, text := range []string{"coupon rate", "优惠", "优惠率", "customer name", "客户名称", "客户姓名", "rate", "coupn rate", "费率",
		"take", "customer nme", "客户名字", "name", "gmv paid", "净收入率",
		// A word only a hidden definition holds matches nothing when the search relaxes.
		"customer name gmv", "客户姓名 支付金额", "姓名 gmv", "coupon rate 华东", "take rate region"} {
		e, err := east.Search(semantic.SearchRequest{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		w, err := without.FullAccess().Search(semantic.SearchRequest{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(e.Hits, w.Hits, same) || e.Total != w.Total || !slices.Equal(e.Ignored, w.Ignored) {
			t.Errorf("%q: east_sales found %v (%d, ignoring %q), but without the hidden definitions %v (%d, ignoring %q)",
				text, hitNames(e.Hits), e.Total, e.Ignored, hitNames(w.Hits), w.Total, w.Ignored)
		}
		for _, n := range hitNames(e.Hits) {
			if n == "coupon_rate" || n == "net_take_rate" || n == "customers.name" {
				t.Errorf("%q found the hidden %s for east_sales", text, n)
			}
		}
	}
	if res, _ := east.Search(semantic.SearchRequest{Text: "客户姓名 支付金额"}); !slices.Equal(res.Ignored, []string{"客户姓名"}) ||
		len(res.Hits) == 0 || res.Hits[0].Metric == nil || res.Hits[0].Metric.Name != "gmv_paid" {
		t.Errorf("客户姓名 支付金额 found %v for east_sales, ignoring %q; want gmv_paid, ignoring the hidden customers.name's 客户姓名", hitNames(res.Hits), res.Ignored)
	}
	if _, err := east.Search(semantic.SearchRequest{Text: "rate", Domain: "astrology"}); !errors.Is(err, semantic.ErrNotFound) {
		t.Errorf("an unknown domain gave %v, want not found", err)
	}
}

// TestSearchMetrics checks the ranked search GraphQL's metrics(filter:) and MCP's
// search_metrics ask: metrics only, best first, within a domain or a tag, and every metric by
// name without text.
func TestSearchMetrics(t *testing.T) {
	svc := demoService(t)
	analyst := svc.Catalog().FullAccess()
	east := accessAs(t, svc, "east_sales", map[string]any{"region": "east"})
	cases := []struct {
		name string
		acc  *semantic.Access
		s    semantic.MetricSearch
		want []string
	}{
		{"a name", analyst, semantic.MetricSearch{Text: "refund_rate"}, []string{"refund_rate"}},
		{"words of a name in another order", analyst, semantic.MetricSearch{Text: "rate refund"}, []string{"refund_rate"}},
		{"a label in another case", analyst, semantic.MetricSearch{Text: "COUPON SPEND"}, []string{"coupon_spend", "coupon_spend_placed"}},
		{"words from the label and a synonym", analyst, semantic.MetricSearch{Text: "(paid) 成交"}, []string{"gmv_paid", "gmv_net"}},
		{"a Chinese synonym with Latin letters", analyst, semantic.MetricSearch{Text: "下单GMV"}, []string{"gmv_placed", "gmv_net_placed"}},
		{"a Chinese word with padding", analyst, semantic.MetricSearch{Text: "  客单价 "}, []string{"aov", "aov_7d"}},
		{"a domain", analyst, semantic.MetricSearch{Text: "rate", Domain: "finance"}, []string{"coupon_rate", "net_take_rate"}},
		{"a tag", analyst, semantic.MetricSearch{Text: "gmv", Tag: "core"}, []string{"gmv_net", "gmv_paid", "gmv_placed", "aov"}},
		{"a filter holds every word", analyst, semantic.MetricSearch{Text: "gmv zebra"}, nil},
		{"a relaxed search leaves a word out", analyst, semantic.MetricSearch{Text: "客单价 zebra", Relax: true}, []string{"aov", "aov_7d"}},
		{"hidden metrics are not found", east, semantic.MetricSearch{Text: "coupon rate"}, nil},
		{"the caller's metrics of a word", east, semantic.MetricSearch{Text: "优惠"}, []string{"coupon_spend", "coupon_spend_placed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.acc.SearchMetrics(c.s)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range got.Metrics {
				names = append(names, m.Name)
			}
			if !slices.Equal(names, c.want) {
				t.Errorf("found %v, want %v", names, c.want)
			}
		})
	}
	all, err := analyst.SearchMetrics(semantic.MetricSearch{})
	if err != nil || len(all.Metrics) != len(analyst.Metrics()) || !slices.IsSortedFunc(all.Metrics, func(a, b *semantic.Metric) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("an empty search found %d metrics (%v), want all %d by name", len(all.Metrics), err, len(analyst.Metrics()))
	}
	if _, err := analyst.SearchMetrics(semantic.MetricSearch{Domain: "astrology"}); !errors.Is(err, semantic.ErrNotFound) {
		t.Errorf("an unknown domain gave %v, want not found", err)
	}
}

// TestSearchNothing checks that text with nothing to look for finds nothing, and that a
// negative limit is refused.
func TestSearchNothing(t *testing.T) {
	acc := demoService(t).Catalog().FullAccess()
	for _, text := range []string{"", "   ", "()", "—"} {
		res, err := acc.Search(semantic.SearchRequest{Text: text})
		if err != nil || len(res.Hits) != 0 || res.Total != 0 {
			t.Errorf("%q found %v (%v), want nothing", text, hitNames(res.Hits), err)
		}
	}
	if _, err := acc.Search(semantic.SearchRequest{Text: "gmv", Limit: -1}); !errors.Is(err, semantic.ErrInvalidQuery) {
		t.Errorf("a negative limit gave %v", err)
	}
}
