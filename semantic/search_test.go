package semantic_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/koujing/koujing/semantic"
)

// TestSearchMetrics checks the catalog's one search, which GraphQL and MCP both ask: words in any
// case and any order, spread over names, labels, descriptions and synonyms, Chinese included, and
// only among the metrics the caller can see.
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
		{"words from the label and a synonym", analyst, semantic.MetricSearch{Text: "(paid) 成交"}, []string{"gmv_paid"}},
		{"a Chinese synonym", analyst, semantic.MetricSearch{Text: "下单GMV"}, []string{"gmv_placed"}},
		{"a Chinese word with padding", analyst, semantic.MetricSearch{Text: "  客单价 "}, []string{"aov", "aov_7d"}},
		{"a domain", analyst, semantic.MetricSearch{Text: "rate", Domain: "finance"}, []string{"coupon_rate", "net_take_rate"}},
		{"a word nothing has", analyst, semantic.MetricSearch{Text: "gmv zebra"}, nil},
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
			for _, m := range got {
				names = append(names, m.Name)
			}
			if !slices.Equal(names, c.want) {
				t.Errorf("found %v, want %v", names, c.want)
			}
		})
	}
	all, err := analyst.SearchMetrics(semantic.MetricSearch{})
	if err != nil || len(all) != len(analyst.Metrics()) {
		t.Errorf("an empty search found %d metrics (%v), want all %d", len(all), err, len(analyst.Metrics()))
	}
	if _, err := analyst.SearchMetrics(semantic.MetricSearch{Domain: "astrology"}); !errors.Is(err, semantic.ErrNotFound) {
		t.Errorf("an unknown domain gave %v, want not found", err)
	}
}
