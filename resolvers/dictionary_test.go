package resolvers

import (
	"slices"
	"testing"
)

// TestCatalogFields checks the catalog's places on metrics, dimensions and domains: category,
// owner and steward, and the categories a domain lists.
func TestCatalogFields(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	const q = `{
  couponRate: metric(name: "coupon_rate") { category steward owner }
  gmvPaid: metric(name: "gmv_paid") { category steward }
  dimension(name: "customers.name") { category owner steward }
  region: dimension(name: "orders.region") { category owner steward }
  domains { name steward categories }
}`
	type place struct{ Category, Owner, Steward *string }
	type domain struct {
		Name, Steward string
		Categories    []string
	}
	var data struct {
		CouponRate, GMVPaid place
		Dimension, Region   place
		Domains             []domain
	}
	mustData(t, post(t, srv, q, nil), &data)
	str := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	for _, c := range []struct {
		what string
		got  place
		want [3]string
	}{
		{"coupon_rate", data.CouponRate, [3]string{"coupons", "finance-bi", "marketing-data"}},
		{"gmv_paid", data.GMVPaid, [3]string{"revenue", "<null>", "<null>"}},
		{"customers.name", data.Dimension, [3]string{"customers", "crm-team", "privacy-office"}},
		{"orders.region", data.Region, [3]string{"<null>", "<null>", "<null>"}},
	} {
		if got := [3]string{str(c.got.Category), str(c.got.Owner), str(c.got.Steward)}; got != c.want {
			t.Errorf("%s: category, owner and steward %q, want %q", c.what, got, c.want)
		}
	}
	i := slices.IndexFunc(data.Domains, func(d domain) bool { return d.Name == "finance" })
	if i < 0 || data.Domains[i].Steward != "fay" || !slices.Equal(data.Domains[i].Categories, []string{"revenue", "coupons"}) {
		t.Errorf("domains %+v", data.Domains)
	}
}

const dictionaryQuery = `query($domain: String!) {
  dictionary(domain: $domain) {
    domain { name }
    entries {
      kind name label definition expression unit format category owner steward status version
      metric { name }
      dimension { name }
    }
  }
}`

// dictionaryEntryNode is a DictionaryEntry as the API returns it.
type dictionaryEntryNode struct {
	Kind, Name, Label, Expression, Status string
	Definition, Unit, Format, Category    *string
	Owner, Steward                        *string
	Version                               *int
	Metric, Dimension                     *struct{ Name string }
}

type dictionaryAnswer struct {
	Dictionary *struct {
		Domain  struct{ Name string }
		Entries []dictionaryEntryNode
	}
}

func (a dictionaryAnswer) entry(name string) *dictionaryEntryNode {
	for i := range a.Dictionary.Entries {
		if e := &a.Dictionary.Entries[i]; e.Name == name {
			return e
		}
	}
	return nil
}

// TestDictionary checks Query.dictionary over the demo's finance domain: its metrics then its
// dimensions, each with its catalog fields; what east_sales may not read left out; an unknown
// domain not found; and versions on a governed server.
func TestDictionary(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	ask := func(t *testing.T, token, domain string) dictionaryAnswer {
		t.Helper()
		var a dictionaryAnswer
		mustData(t, postAs(t, srv, token, dictionaryQuery, map[string]any{"domain": domain}), &a)
		return a
	}

	a := ask(t, "", "finance")
	var metrics, dims []string
	for _, e := range a.Dictionary.Entries {
		switch {
		case e.Kind == "METRIC" && e.Metric != nil && e.Metric.Name == e.Name && e.Dimension == nil:
			metrics = append(metrics, e.Name)
		case e.Kind == "DIMENSION" && e.Dimension != nil && e.Dimension.Name == e.Name && e.Metric == nil:
			dims = append(dims, e.Name)
		default:
			t.Errorf("entry %s is a %s linking metric %v and dimension %v", e.Name, e.Kind, e.Metric, e.Dimension)
		}
	}
	if want := []string{"coupon_rate", "coupon_spend", "coupon_spend_placed", "gmv_net", "gmv_net_placed", "gmv_paid", "net_take_rate"}; a.Dictionary.Domain.Name != "finance" || !slices.Equal(metrics, want) {
		t.Errorf("finance's metrics %v, want %v", metrics, want)
	}
	if !slices.Contains(dims, "orders.region") || !slices.Contains(dims, "customers.name") || !slices.IsSorted(dims) {
		t.Errorf("finance's dimensions %v", dims)
	}
	if got := metrics[len(metrics)-1]; a.Dictionary.Entries[len(metrics)-1].Name != got || a.Dictionary.Entries[len(metrics)].Kind != "DIMENSION" {
		t.Errorf("the metrics do not come first: %v", a.Dictionary.Entries)
	}
	gmv := a.entry("gmv_paid")
	if gmv.Label != "GMV (paid)" || *gmv.Unit != "CNY" || *gmv.Format != "currency" || *gmv.Category != "revenue" || *gmv.Owner != "finance-bi" ||
		*gmv.Steward != "fay" || gmv.Status != "PUBLISHED" || gmv.Version != nil || gmv.Definition == nil ||
		gmv.Expression != "gmv_placed where orders.status in ('paid', 'shipped', 'completed')" {
		t.Errorf("gmv_paid's entry %+v", gmv)
	}
	if e := a.entry("coupon_rate"); *e.Category != "coupons" || *e.Steward != "marketing-data" {
		t.Errorf("coupon_rate's entry %+v", e)
	}
	if e := a.entry("customers.name"); *e.Owner != "crm-team" || *e.Steward != "privacy-office" || *e.Format != "string" || e.Unit != nil || e.Definition != nil {
		t.Errorf("customers.name's entry %+v", e)
	}

	east := ask(t, eastSalesToken(t, "east"), "finance")
	for _, hidden := range []string{"coupon_rate", "net_take_rate", "customers.name"} {
		if east.entry(hidden) != nil {
			t.Errorf("east_sales reads %s in finance's dictionary", hidden)
		}
	}
	if east.entry("gmv_paid") == nil || east.entry("orders.region") == nil {
		t.Errorf("east_sales does not read gmv_paid and orders.region: %+v", east.Dictionary.Entries)
	}

	r := post(t, srv, dictionaryQuery, map[string]any{"domain": "astrology"})
	wantError(t, r, "NOT_FOUND", "astrology")

	g := newGovernedFixture(t, HandlerOptions{})
	var governed dictionaryAnswer
	mustData(t, postAs(t, g.srv, analystToken(t), dictionaryQuery, map[string]any{"domain": "finance"}), &governed)
	if e := governed.entry("gmv_paid"); e == nil || e.Version == nil || *e.Version != 1 || e.Status != "PUBLISHED" {
		t.Errorf("gmv_paid on a governed server: %+v", e)
	}
}
