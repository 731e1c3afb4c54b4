package resolvers

import (
	"slices"
	"strings"
	"testing"
)

// searchHitNode is a hit of Query.search as the API returns it.
type searchHitNode struct {
	Typename string  `json:"__typename"`
	Score    float64 `json:"score"`
	Kind     string  `json:"kind"`
	Name     string  `json:"name"`
	Label    string  `json:"label"`
	Matches  []struct {
		Field string `json:"field"`
		Text  string `json:"text"`
		Spans []struct{ Start, End int }
	} `json:"matches"`
	Metric    *struct{ Unit *string } `json:"metric"`
	Dimension *struct{ Type string }  `json:"dimension"`
}

const searchQuery = `query($text: String!, $first: Int, $kinds: [SearchKind!], $domain: String) {
  search(text: $text, first: $first, kinds: $kinds, domain: $domain) {
    totalCount
    ignoredWords
    hits {
      __typename score kind name label
      matches { field text spans { start end } }
      ... on MetricHit { metric { unit } }
      ... on DimensionHit { dimension { type } }
    }
  }
}`

type searchAnswer struct {
	Search struct {
		TotalCount   int
		IgnoredWords []string
		Hits         []searchHitNode
	}
}

func (a searchAnswer) names() []string {
	out := make([]string, len(a.Search.Hits))
	for i, h := range a.Search.Hits {
		out[i] = h.Name
	}
	return out
}

// TestSearch checks Query.search: metrics and dimensions together, ranked, in English and
// Chinese with typos, each with what it matched, and only what the caller may see.
func TestSearch(t *testing.T) {
	_, srv := adminService(t)
	ask := func(t *testing.T, token string, vars map[string]any) searchAnswer {
		t.Helper()
		var a searchAnswer
		mustData(t, postAs(t, srv, token, searchQuery, vars), &a)
		return a
	}

	t.Run("ranked, with a metric's fields", func(t *testing.T) {
		a := ask(t, "", map[string]any{"text": "gmv paid"})
		if got := a.names(); len(got) < 2 || got[0] != "gmv_paid" || !slices.Contains(got, "gmv_paid_7d") {
			t.Fatalf("gmv paid found %v, want gmv_paid first and gmv_paid_7d", got)
		}
		h := a.Search.Hits[0]
		if h.Typename != "MetricHit" || h.Kind != "METRIC" || h.Label != "GMV (paid)" || h.Metric == nil || h.Metric.Unit == nil || *h.Metric.Unit != "CNY" {
			t.Errorf("gmv_paid's hit is %+v", h)
		}
		if m := h.Matches[0]; m.Field != "NAME" || m.Text != "gmv_paid" || len(m.Spans) != 2 || m.Spans[1].Start != 4 || m.Spans[1].End != 8 {
			t.Errorf("gmv_paid matched %+v first", m)
		}
		if a.Search.Hits[1].Score >= h.Score {
			t.Errorf("%s scores %g, not below gmv_paid's %g", a.Search.Hits[1].Name, a.Search.Hits[1].Score, h.Score)
		}
	})
	t.Run("an exact name beats a description's mention", func(t *testing.T) {
		a := ask(t, "", map[string]any{"text": "buyers"})
		if got := a.names(); len(got) < 2 || got[0] != "buyers" {
			t.Errorf("buyers found %v, want the metric buyers first", got)
		}
	})
	t.Run("Chinese without spaces, with a typo, and mixed", func(t *testing.T) {
		for text, first := range map[string]string{"下单金额": "gmv_placed", "客单架": "aov", "gmv 支付": "gmv_paid", "averge order": "aov"} {
			if got := ask(t, "", map[string]any{"text": text}).names(); len(got) == 0 || got[0] != first {
				t.Errorf("%s found %v, want %s first", text, got, first)
			}
		}
	})
	t.Run("words nothing holds are left out, and said", func(t *testing.T) {
		for text, want := range map[string]struct {
			first   string
			ignored []string
		}{
			"华东 支付金额":                 {"gmv_paid", []string{"华东"}},
			"gmv for the east region": {"gmv_", []string{"east", "region"}},
			"gmv paid":                {"gmv_paid", []string{}},
			"zebra unicorn":           {"", []string{}},
		} {
			a := ask(t, "", map[string]any{"text": text})
			got := a.names()
			if want.first == "" && len(got) != 0 || want.first != "" && (len(got) == 0 || !strings.HasPrefix(got[0], want.first)) ||
				!slices.Equal(a.Search.IgnoredWords, want.ignored) {
				t.Errorf("%s found %v ignoring %q, want %s… first, ignoring %q", text, got, a.Search.IgnoredWords, want.first, want.ignored)
			}
		}
		// east_sales does not see customers.name: its words hold nothing for them.
		a := ask(t, eastSalesToken(t, "east"), map[string]any{"text": "客户姓名 支付金额"})
		if got := a.names(); len(got) == 0 || got[0] != "gmv_paid" || !slices.Equal(a.Search.IgnoredWords, []string{"客户姓名"}) {
			t.Errorf("客户姓名 支付金额 found %v for east_sales, ignoring %q", got, a.Search.IgnoredWords)
		}
	})
	t.Run("dimensions", func(t *testing.T) {
		a := ask(t, "", map[string]any{"text": "区域", "kinds": []string{"DIMENSION"}})
		if got := a.names(); !slices.Equal(got, []string{"orders.region", "customers.region"}) || a.Search.Hits[0].Typename != "DimensionHit" ||
			a.Search.Hits[0].Dimension == nil || a.Search.Hits[0].Dimension.Type != "STRING" {
			t.Errorf("区域 among dimensions found %+v", a.Search.Hits)
		}
	})
	t.Run("first and totalCount", func(t *testing.T) {
		a := ask(t, "", map[string]any{"text": "支付", "first": 2})
		if len(a.Search.Hits) != 2 || a.Search.TotalCount <= 2 {
			t.Errorf("支付 with first 2 gave %d hits of %d", len(a.Search.Hits), a.Search.TotalCount)
		}
		if r := postAs(t, srv, "", searchQuery, map[string]any{"text": "gmv", "first": 101}); len(r.Errors) != 1 || r.Errors[0].code() != "INVALID_QUERY" {
			t.Errorf("first: 101 gave %+v", r.Errors)
		}
	})
	t.Run("hidden names are neither found nor counted", func(t *testing.T) {
		all := ask(t, "", map[string]any{"text": "customer name"})
		if !slices.Contains(all.names(), "customers.name") {
			t.Fatalf("the demo user does not find customers.name: %v", all.names())
		}
		east := ask(t, eastSalesToken(t, "east"), map[string]any{"text": "customer name"})
		if slices.Contains(east.names(), "customers.name") || east.Search.TotalCount != len(east.Search.Hits) {
			t.Errorf("east_sales found %v of %d", east.names(), east.Search.TotalCount)
		}
		for _, text := range []string{"coupon rate", "客户姓名"} {
			a := ask(t, eastSalesToken(t, "east"), map[string]any{"text": text})
			for _, n := range a.names() {
				if n == "coupon_rate" || n == "customers.name" {
					t.Errorf("%s found the hidden %s for east_sales", text, n)
				}
			}
		}
	})
}
