package semantic_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// The words generated metrics are made of, in English and Chinese: a large catalog's names,
// labels, synonyms and descriptions are combinations of a few hundred business words.
var (
	searchQualifiers = [][2]string{{"paid", "已支付"}, {"placed", "下单"}, {"net", "净"}, {"gross", "总"}, {"daily", "日"},
		{"weekly", "周"}, {"monthly", "月"}, {"new", "新"}, {"returning", "回头"}, {"vip", "贵宾"}, {"first", "首次"},
		{"cancelled", "取消"}, {"east", "华东"}, {"north", "华北"}, {"south", "华南"}}
	searchChannels = [][2]string{{"app", "应用"}, {"web", "网页"}, {"store", "门店"}, {"mini", "小程序"}}
	searchSubjects = [][2]string{{"order", "订单"}, {"payment", "支付"}, {"refund", "退款"}, {"coupon", "优惠券"}, {"customer", "客户"},
		{"product", "商品"}, {"shipment", "发货"}, {"inventory", "库存"}, {"session", "会话"}, {"visit", "访问"}, {"cart", "购物车"},
		{"review", "评价"}, {"return", "退货"}, {"invoice", "发票"}, {"subscription", "订阅"}, {"member", "会员"}, {"warehouse", "仓库"},
		{"supplier", "供应商"}, {"campaign", "活动"}, {"ticket", "工单"}}
	searchMeasures = [][2]string{{"count", "数"}, {"amount", "金额"}, {"rate", "率"}, {"value", "价值"}, {"average", "均值"},
		{"share", "占比"}, {"growth", "增长率"}, {"median", "中位数"}, {"total", "总额"}, {"duration", "时长"}}
)

// generatedSearchCatalog returns the demo catalog with n generated metrics whose names, labels,
// synonyms and descriptions combine the words above, as "paid_app_refund_rate", "Paid app
// refund rate", "已支付应用退款率".
func generatedSearchCatalog(tb testing.TB, n int) *semantic.Catalog {
	tb.Helper()
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		tb.Fatal(err)
	}
	domains := []string{"sales", "finance", "operations"}
	i := 0
	for _, q := range searchQualifiers {
		for _, c := range searchChannels {
			for _, s := range searchSubjects {
				for _, m := range searchMeasures {
					if i == n {
						break
					}
					name := fmt.Sprintf("%s_%s_%s_%s", q[0], c[0], s[0], m[0])
					yaml := fmt.Sprintf("name: %s\nlabel: %s %s %s %s\nsynonyms: [%s%s%s%s, %s%s%s]\n"+
						"description: The %s of %ss %s through the %s channel, counted once per %s.\n"+
						"unit: CNY\nowner: team-%d\ndomain: %s\ntags: [generated]\nmeasure: orders.amount_total\n",
						name, q[0], c[0], s[0], m[0], q[1], c[1], s[1], m[1], s[1], c[1], m[1],
						m[0], s[0], q[0], c[0], s[0], i%50, domains[i%3])
					defs = append(defs, semantic.Definition{Kind: store.KindMetric, Name: name, YAML: yaml})
					i++
				}
			}
		}
	}
	if i < n {
		tb.Fatalf("the words make %d metrics, fewer than %d", i, n)
	}
	src := engine.NewSources(memory.NewGoAllocator())
	tb.Cleanup(src.Close)
	cat, err := semantic.LoadDefinitions(context.Background(), defs, semantic.SourcesResolver(src), "")
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// searchBenchQueries are what people type: words, Chinese phrases, typos, prefixes.
var searchBenchQueries = []string{"refund rate", "支付", "已支付应用退款率", "paid app order count", "averge order", "gmv paid", "客单价",
	"custmer growth", "华东 会员 增长率", "coupon", "ord", "发票金额", "inventory duration", "下单金额", "weekly vip ticket median",
	"shipmnt", "退货", "net web cart share", "小程序", "revenue per buyer"}

// BenchmarkSearch times searches of a catalog of 10,000 generated metrics (with the demo's 37
// and its dimensions), as the demo's analyst and as east_sales (who does not see what is tagged
// finance), over queries in English and Chinese, with typos and prefixes, the 20 best hits with
// what they matched. It reports the median and the 95th percentile of one search's time:
//
//	go test ./semantic/ -run '^$' -bench BenchmarkSearch$ -benchtime 2000x
func BenchmarkSearch(b *testing.B) {
	cat := generatedSearchCatalog(b, 10_000)
	auth, err := demo.NewAuthorizer(context.Background(), cat, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	svc := semantic.NewService(cat, engine.New(engine.NewSources(nil), engine.Options{}), semantic.ServiceOptions{Authorizer: auth})
	for _, role := range []string{"analyst", "east_sales"} {
		b.Run(role, func(b *testing.B) {
			acc, err := svc.Access(&authz.Principal{Subject: "someone", Tenant: "demo", Roles: []string{role}, Attributes: map[string]any{"region": "east"}})
			if err != nil {
				b.Fatal(err)
			}
			// The index is built once per catalog, and each caller's decisions once: neither is
			// what a search costs.
			for _, q := range searchBenchQueries {
				if _, err := acc.Search(semantic.SearchRequest{Text: q, Limit: 20}); err != nil {
					b.Fatal(err)
				}
			}
			times := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if _, err := acc.Search(semantic.SearchRequest{Text: searchBenchQueries[i%len(searchBenchQueries)], Limit: 20}); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds()), "p95-µs")
		})
	}
}

// BenchmarkSearchIndex times building the search index of a catalog of 10,000 generated
// metrics, which happens once per catalog, at its first search:
//
//	go test ./semantic/ -run '^$' -bench BenchmarkSearchIndex -benchtime 10x
func BenchmarkSearchIndex(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		cat := generatedSearchCatalog(b, 10_000)
		b.StartTimer()
		if _, err := cat.FullAccess().Search(semantic.SearchRequest{Text: "gmv"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSearchGenerated checks the search over the generated catalog the benchmark uses: a name's
// words find it first, in English and Chinese, with a typo.
func TestSearchGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 10,000 metrics")
	}
	acc := generatedSearchCatalog(t, 10_000).FullAccess()
	for text, want := range map[string]string{
		"paid app refund rate":     "paid_app_refund_rate",
		"已支付应用退款率":                 "paid_app_refund_rate",
		"华东 网页 会员 增长率":             "east_web_member_growth",
		"weekly web shipmnt total": "weekly_web_shipment_total",
	} {
		res, err := acc.Search(semantic.SearchRequest{Text: text, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) == 0 || res.Hits[0].Metric == nil || res.Hits[0].Metric.Name != want {
			t.Errorf("%q found %v first, want %s", text, hitNames(res.Hits), want)
		}
	}
}
