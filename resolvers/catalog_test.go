package resolvers

import (
	"slices"
	"sort"
	"testing"
)

type pageInfo struct {
	HasNextPage     bool    `json:"hasNextPage"`
	HasPreviousPage bool    `json:"hasPreviousPage"`
	StartCursor     *string `json:"startCursor"`
	EndCursor       *string `json:"endCursor"`
}

type nameNode struct {
	Name string `json:"name"`
}

type nameConnection struct {
	Edges []struct {
		Cursor string   `json:"cursor"`
		Node   nameNode `json:"node"`
	} `json:"edges"`
	PageInfo   pageInfo `json:"pageInfo"`
	TotalCount int      `json:"totalCount"`
}

func (c nameConnection) names() []string {
	out := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node.Name
	}
	return out
}

const metricPageQuery = `query($first: Int, $after: String, $filter: MetricFilter) {
  metrics(first: $first, after: $after, filter: $filter) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}`

func metricPage(t *testing.T, vars map[string]any) nameConnection {
	t.Helper()
	srv := server(t, fixture.demo, HandlerOptions{})
	var data struct{ Metrics nameConnection }
	mustData(t, post(t, srv, metricPageQuery, vars), &data)
	return data.Metrics
}

func TestMetricsPaging(t *testing.T) {
	all := fixture.demo.Catalog().Metrics()
	var want []string
	for _, m := range all {
		want = append(want, m.Name)
	}

	first := metricPage(t, map[string]any{"first": 5})
	if got := first.names(); !slices.Equal(got, want[:5]) {
		t.Errorf("first page = %v, want %v", got, want[:5])
	}
	if first.TotalCount != len(want) {
		t.Errorf("totalCount = %d, want %d", first.TotalCount, len(want))
	}
	if !first.PageInfo.HasNextPage || first.PageInfo.HasPreviousPage {
		t.Errorf("first page pageInfo = %+v, want a next page and no previous one", first.PageInfo)
	}
	if first.PageInfo.EndCursor == nil || *first.PageInfo.EndCursor != first.Edges[4].Cursor ||
		first.PageInfo.StartCursor == nil || *first.PageInfo.StartCursor != first.Edges[0].Cursor {
		t.Errorf("cursors of pageInfo %+v do not match the edges'", first.PageInfo)
	}

	rest := metricPage(t, map[string]any{"first": 100, "after": *first.PageInfo.EndCursor})
	if got := rest.names(); !slices.Equal(got, want[5:]) {
		t.Errorf("second page = %v, want %v", got, want[5:])
	}
	if rest.PageInfo.HasNextPage || !rest.PageInfo.HasPreviousPage {
		t.Errorf("last page pageInfo = %+v, want a previous page and no next one", rest.PageInfo)
	}

	// Without first, a page holds up to 50: every demo metric.
	if got := metricPage(t, nil).names(); !slices.Equal(got, want) {
		t.Errorf("default page = %v, want every metric", got)
	}
	empty := metricPage(t, map[string]any{"first": 0})
	if len(empty.Edges) != 0 || empty.PageInfo.EndCursor != nil || !empty.PageInfo.HasNextPage {
		t.Errorf("first: 0 gave %+v, want no edges, no cursor, and a next page", empty)
	}
}

func TestMetricsFilter(t *testing.T) {
	tests := []struct {
		name   string
		filter map[string]any
		want   []string
	}{
		{"domain", map[string]any{"domain": "finance"},
			[]string{"coupon_rate", "coupon_spend", "coupon_spend_placed", "gmv_net", "gmv_net_placed", "gmv_paid", "net_take_rate"}},
		{"tag", map[string]any{"tag": "refunds"},
			[]string{"refund_count", "refund_rate", "refunded_order_count", "settled_order_count"}},
		{"domain and tag", map[string]any{"domain": "sales", "tag": "gmv"},
			[]string{"aov", "gmv_placed", "revenue_per_buyer"}},
		{"search label, ignoring case", map[string]any{"search": "COUPON SPEND"},
			[]string{"coupon_spend", "coupon_spend_placed"}},
		{"search description, plurals as singulars", map[string]any{"search": "distinct customers"},
			[]string{"buyers", "ordering_customers", "orders_per_buyer", "revenue_per_buyer"}},
		{"search Chinese synonyms", map[string]any{"search": "支付"},
			[]string{"buyers", "gmv_paid", "paid_order_count", "revenue_per_buyer"}},
		{"search Chinese and domain", map[string]any{"search": "退款", "domain": "operations"},
			[]string{"refund_count", "refund_rate", "refunded_order_count"}},
		{"search that matches nothing", map[string]any{"search": "no such metric"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := metricPage(t, map[string]any{"filter": tt.filter})
			if !slices.Equal(got.names(), tt.want) {
				t.Errorf("metrics = %v, want %v", got.names(), tt.want)
			}
			if got.TotalCount != len(tt.want) {
				t.Errorf("totalCount = %d, want %d", got.TotalCount, len(tt.want))
			}
		})
	}
}

func TestMetricNested(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	const q = `{
  aov: metric(name: "aov") {
    id name label unit format owner kind expression tags synonyms
    domain { name label owner }
    measure { name }
    baseMetric { name }
    dependsOn { name kind }
    models { name }
    dimensions(first: 3) { totalCount edges { node { name } } pageInfo { hasNextPage } }
  }
  paid: metric(name: "gmv_paid") {
    kind expression
    baseMetric { name measure { name shortName aggregation expression model { name } } }
    filters { dimension { name type } operator values }
    dependsOn { name }
  }
  placed: metric(name: "gmv_placed") { kind expression measure { name } filters { operator } dependsOn { name } }
  items: metric(name: "items_sold") { models { name } dimensions(first: 100) { totalCount } }
}`
	var data struct {
		AOV struct {
			ID, Name, Label, Unit, Format, Owner, Kind, Expression string
			Tags, Synonyms                                         []string
			Domain                                                 struct{ Name, Label, Owner string }
			Measure, BaseMetric                                    *nameNode
			DependsOn                                              []struct{ Name, Kind string }
			Models                                                 []nameNode
			Dimensions                                             nameConnection
		}
		Paid struct {
			Kind, Expression string
			BaseMetric       struct {
				Name    string
				Measure struct {
					Name, ShortName, Aggregation, Expression string
					Model                                    nameNode
				}
			}
			Filters []struct {
				Dimension struct{ Name, Type string }
				Operator  string
				Values    []string
			}
			DependsOn []nameNode
		}
		Placed struct {
			Kind, Expression string
			Measure          nameNode
			Filters          []struct{ Operator string }
			DependsOn        []nameNode
		}
		Items struct {
			Models     []nameNode
			Dimensions struct{ TotalCount int }
		}
	}
	mustData(t, post(t, srv, q, nil), &data)

	aov := data.AOV
	if aov.Name != "aov" || aov.Label != "Average order value" || aov.Unit != "CNY" || aov.Format != "currency" ||
		aov.Owner != "sales-analytics" || aov.Kind != "COMPOSITE" || aov.Expression != "gmv_paid / paid_order_count" {
		t.Errorf("aov = %+v", aov)
	}
	if aov.ID != globalID("Metric", "aov") {
		t.Errorf("aov id = %q", aov.ID)
	}
	if !slices.Contains(aov.Synonyms, "客单价") || !slices.Contains(aov.Tags, "core") {
		t.Errorf("aov synonyms %v, tags %v", aov.Synonyms, aov.Tags)
	}
	if aov.Domain.Name != "sales" || aov.Domain.Owner != "sales-analytics" {
		t.Errorf("aov domain = %+v", aov.Domain)
	}
	if aov.Measure != nil || aov.BaseMetric != nil {
		t.Errorf("a composite metric has measure %v and base %v, want null", aov.Measure, aov.BaseMetric)
	}
	if len(aov.DependsOn) != 2 || aov.DependsOn[0].Name != "gmv_paid" || aov.DependsOn[0].Kind != "DERIVED" || aov.DependsOn[1].Name != "paid_order_count" {
		t.Errorf("aov dependsOn = %+v", aov.DependsOn)
	}
	if len(aov.Models) != 1 || aov.Models[0].Name != "orders" {
		t.Errorf("aov models = %+v", aov.Models)
	}
	// orders reaches its own dimensions and customers'; order_items and products are reached only
	// through one-to-many paths, which are still unambiguous.
	wantDims := len(fixture.demo.Catalog().DimensionsFor(fixture.demo.Catalog().Metric("aov")))
	if aov.Dimensions.TotalCount != wantDims || len(aov.Dimensions.Edges) != 3 || !aov.Dimensions.PageInfo.HasNextPage {
		t.Errorf("aov dimensions = %+v, want 3 of %d", aov.Dimensions, wantDims)
	}
	if !sort.StringsAreSorted(aov.Dimensions.names()) {
		t.Errorf("aov dimensions %v are not sorted", aov.Dimensions.names())
	}

	paid := data.Paid
	if paid.Kind != "DERIVED" || paid.Expression != "gmv_placed where orders.status in ('paid', 'shipped', 'completed')" {
		t.Errorf("gmv_paid kind %s, expression %q", paid.Kind, paid.Expression)
	}
	m := paid.BaseMetric.Measure
	if paid.BaseMetric.Name != "gmv_placed" || m.Name != "orders.amount_total" || m.ShortName != "amount_total" ||
		m.Aggregation != "SUM" || m.Expression != "amount" || m.Model.Name != "orders" {
		t.Errorf("gmv_paid base = %+v", paid.BaseMetric)
	}
	if len(paid.Filters) != 1 || paid.Filters[0].Dimension.Name != "orders.status" || paid.Filters[0].Dimension.Type != "STRING" ||
		paid.Filters[0].Operator != "IN" || !slices.Equal(paid.Filters[0].Values, []string{"paid", "shipped", "completed"}) {
		t.Errorf("gmv_paid filters = %+v", paid.Filters)
	}
	if len(paid.DependsOn) != 1 || paid.DependsOn[0].Name != "gmv_placed" {
		t.Errorf("gmv_paid dependsOn = %+v", paid.DependsOn)
	}

	placed := data.Placed
	if placed.Kind != "ATOMIC" || placed.Expression != "sum(amount) over orders" || placed.Measure.Name != "orders.amount_total" ||
		len(placed.Filters) != 0 || len(placed.DependsOn) != 0 {
		t.Errorf("gmv_placed = %+v", placed)
	}
	if len(data.Items.Models) != 1 || data.Items.Models[0].Name != "order_items" || data.Items.Dimensions.TotalCount == 0 {
		t.Errorf("items_sold = %+v", data.Items)
	}
}

func TestLookupsByName(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	t.Run("found", func(t *testing.T) {
		var data struct {
			Dimension struct {
				Name, ShortName, Label, Type, Expression string
				Description                              *string
				Synonyms                                 []string
				Granularities                            []string
				Model                                    nameNode
			}
			Time struct {
				Type          string
				Granularities []string
			}
			IsPaid    struct{ Type, Expression string }
			DataModel struct {
				Name, Label, Source string
				PrimaryKey          []string
				Dimensions          []nameNode
				Measures            []struct{ Name, Aggregation string }
				Metrics             []nameNode
				Relationships       []struct {
					Model       nameNode
					Cardinality string
					Keys        []struct{ Column, TargetColumn string }
				}
			}
			Domains []struct {
				Name, Label string
				Metrics     []nameNode
			}
		}
		mustData(t, post(t, srv, `{
  dimension(name: "orders.region") { name shortName label description type expression synonyms granularities model { name } }
  time: dimension(name: "customers.signup_date") { type granularities }
  isPaid: dimension(name: "orders.is_paid") { type expression }
  dataModel(name: "orders") {
    name label source primaryKey
    dimensions { name } measures { name aggregation } metrics { name }
    relationships { model { name } cardinality keys { column targetColumn } }
  }
  domains { name label metrics { name } }
}`, nil), &data)
		d := data.Dimension
		if d.Name != "orders.region" || d.ShortName != "region" || d.Label != "Order region" || d.Type != "STRING" ||
			d.Expression != "region" || d.Model.Name != "orders" || len(d.Granularities) != 0 || !slices.Contains(d.Synonyms, "区域") ||
			d.Description == nil {
			t.Errorf("orders.region = %+v", d)
		}
		if data.Time.Type != "TIME" || !slices.Equal(data.Time.Granularities, []string{"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}) {
			t.Errorf("customers.signup_date = %+v", data.Time)
		}
		if data.IsPaid.Type != "BOOLEAN" || data.IsPaid.Expression != "paid_at IS NOT NULL" {
			t.Errorf("orders.is_paid = %+v", data.IsPaid)
		}
		dm := data.DataModel
		if dm.Name != "orders" || dm.Label != "Orders" || dm.Source != "demo:orders" || !slices.Equal(dm.PrimaryKey, []string{"order_id"}) {
			t.Errorf("orders = %+v", dm)
		}
		if len(dm.Dimensions) != 6 || dm.Dimensions[0].Name != "orders.region" {
			t.Errorf("orders dimensions = %+v, want the 6 in definition order", dm.Dimensions)
		}
		if len(dm.Measures) != 7 || dm.Measures[6].Name != "orders.customer_count" || dm.Measures[6].Aggregation != "COUNT_DISTINCT" ||
			dm.Measures[4].Aggregation != "MEDIAN" || dm.Measures[5].Aggregation != "PERCENTILE" {
			t.Errorf("orders measures = %+v", dm.Measures)
		}
		var metrics []string
		for _, m := range dm.Metrics {
			metrics = append(metrics, m.Name)
		}
		// Every metric of the demo but those over order_items and customers aggregates orders.
		for _, want := range []string{"aov", "gmv_paid", "order_count", "refund_rate"} {
			if !slices.Contains(metrics, want) {
				t.Errorf("orders metrics %v lack %s", metrics, want)
			}
		}
		for _, not := range []string{"items_sold", "customer_count"} {
			if slices.Contains(metrics, not) {
				t.Errorf("orders metrics %v include %s", metrics, not)
			}
		}
		if len(dm.Relationships) != 1 || dm.Relationships[0].Model.Name != "customers" || dm.Relationships[0].Cardinality != "MANY_TO_ONE" ||
			len(dm.Relationships[0].Keys) != 1 || dm.Relationships[0].Keys[0].Column != "customer_id" || dm.Relationships[0].Keys[0].TargetColumn != "customer_id" {
			t.Errorf("orders relationships = %+v", dm.Relationships)
		}
		if len(data.Domains) != 3 || data.Domains[0].Name != "finance" || data.Domains[0].Label != "财务 Finance" || len(data.Domains[0].Metrics) != 7 {
			t.Errorf("domains = %+v", data.Domains)
		}
	})
	t.Run("not found", func(t *testing.T) {
		tests := []struct {
			query string
			want  []string
		}{
			{`{ metric(name: "gmv_piad") { name } }`, []string{`unknown metric "gmv_piad"`, `Did you mean "gmv_paid"?`}},
			{`{ dimension(name: "orders.regoin") { name } }`, []string{`unknown dimension "orders.regoin"`, `Did you mean "orders.region"?`}},
			{`{ dimension(name: "region") { name } }`, []string{`unknown dimension "region"`, "model.dimension"}},
			{`{ dataModel(name: "order") { name } }`, []string{`unknown data model "order"`, `Did you mean "orders"?`}},
			{`{ dimensions(model: "nope") { totalCount } }`, []string{`unknown data model "nope"`}},
			{`{ metrics(filter: {domain: "finanse"}) { totalCount } }`, []string{`unknown domain "finanse"`, `Did you mean "finance"?`}},
		}
		for _, tt := range tests {
			r := post(t, srv, tt.query, nil)
			wantError(t, r, CodeNotFound, tt.want...)
		}
	})
}

func TestDimensionsAndDataModels(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	var data struct {
		Orders     nameConnection
		All        nameConnection
		DataModels nameConnection
	}
	mustData(t, post(t, srv, `{
  orders: dimensions(model: "orders") { totalCount edges { node { name } } pageInfo { hasNextPage } }
  all: dimensions(first: 100) { totalCount edges { cursor node { name } } }
  dataModels { totalCount edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage } }
}`, nil), &data)
	want := []string{"orders.channel", "orders.created_at", "orders.is_paid", "orders.paid_at", "orders.region", "orders.status"}
	if !slices.Equal(data.Orders.names(), want) || data.Orders.TotalCount != 6 || data.Orders.PageInfo.HasNextPage {
		t.Errorf("orders dimensions = %+v, want %v", data.Orders, want)
	}
	total := 0
	for _, m := range fixture.demo.Catalog().Models() {
		total += len(m.Dimensions)
	}
	if data.All.TotalCount != total || len(data.All.Edges) != total || !sort.StringsAreSorted(data.All.names()) {
		t.Errorf("all dimensions = %v (%d), want %d sorted", data.All.names(), data.All.TotalCount, total)
	}
	if !slices.Equal(data.DataModels.names(), []string{"customers", "inventory", "order_items", "orders", "products"}) || data.DataModels.TotalCount != 5 {
		t.Errorf("dataModels = %+v", data.DataModels)
	}

	// Paging dimensions goes on after the cursor.
	var page struct{ Dimensions nameConnection }
	mustData(t, post(t, srv, `query($after: String) { dimensions(first: 2, after: $after) { edges { node { name } } } }`,
		map[string]any{"after": data.All.Edges[2].Cursor}), &page)
	if !slices.Equal(page.Dimensions.names(), data.All.names()[3:5]) {
		t.Errorf("dimensions after the third = %v, want %v", page.Dimensions.names(), data.All.names()[3:5])
	}
}

func TestNodeRoundTrip(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	var ids struct {
		Metric    struct{ ID string }
		Dimension struct{ ID string }
		DataModel struct {
			ID       string
			Measures []struct{ ID string }
		}
		Domains []struct{ ID string }
	}
	mustData(t, post(t, srv, `{
  metric(name: "gmv_paid") { id }
  dimension(name: "orders.region") { id }
  dataModel(name: "orders") { id measures { id } }
  domains { id }
}`, nil), &ids)
	tests := []struct {
		id, typename, name string
	}{
		{ids.Metric.ID, "Metric", "gmv_paid"},
		{ids.Dimension.ID, "Dimension", "orders.region"},
		{ids.DataModel.ID, "DataModel", "orders"},
		{ids.DataModel.Measures[0].ID, "Measure", "orders.order_count"},
		{ids.Domains[0].ID, "Domain", "finance"},
	}
	const q = `query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Metric { name }
    ... on Dimension { name }
    ... on DataModel { name }
    ... on Measure { name }
    ... on Domain { name }
  }
}`
	for _, tt := range tests {
		t.Run(tt.typename, func(t *testing.T) {
			var data struct {
				Node struct {
					Typename string `json:"__typename"`
					ID, Name string
				}
			}
			mustData(t, post(t, srv, q, map[string]any{"id": tt.id}), &data)
			if data.Node.Typename != tt.typename || data.Node.ID != tt.id || data.Node.Name != tt.name {
				t.Errorf("node(%q) = %+v, want %s %s", tt.id, data.Node, tt.typename, tt.name)
			}
		})
	}
	t.Run("malformed or unknown", func(t *testing.T) {
		for _, id := range []string{
			"not base64!",
			globalID("Metric", "no_such_metric"),
			globalID("Spaceship", "enterprise"),
			globalID("Measure", "orders"),
			"TWV0cmlj", // "Metric", with no key
			"",
		} {
			r := post(t, srv, q, map[string]any{"id": id})
			wantError(t, r, CodeNotFound)
			if string(r.Data) != `{"node":null}` {
				t.Errorf("node(%q) data = %s, want node null", id, r.Data)
			}
		}
	})
}
