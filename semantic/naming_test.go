package semantic_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// namingCatalog loads the demo definitions with one more file of metrics.
func namingCatalog(t *testing.T, metrics string) *semantic.Catalog {
	t.Helper()
	files := fstest.MapFS{"zz_extra.yaml": {Data: []byte("metrics:\n" + metrics)}}
	names, err := semantic.DefinitionFileNames(demo.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		data, err := demo.FS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files[n] = &fstest.MapFile{Data: data}
	}
	src := engine.NewSources(memory.NewGoAllocator())
	t.Cleanup(src.Close)
	cat, err := semantic.LoadFS(context.Background(), files, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestNamingRules checks each kind of rule on a metric that keeps it and one that breaks it.
func TestNamingRules(t *testing.T) {
	const extra = `  - name: refund_amount
    description: Money refunded.
    owner: ops
    unit: CNY
    measure: orders.amount_total
  - name: tmp_refund_total__x
    unit: CNY
    measure: orders.amount_total
`
	cat := namingCatalog(t, extra)
	tests := []struct {
		rule   string
		broken bool
		want   string
	}{
		{"rules:\n  - kind: snake_case\n    applies_to: [metric]\n", true, "not snake_case; write lower-case words joined by single underscores, such as tmp_refund_total_x"},
		{"rules:\n  - kind: max_length\n    max: 15\n    applies_to: [metric]\n", true, "is 19 characters long, more than 15"},
		{"rules:\n  - kind: forbidden_words\n    words: [TMP, test]\n", true, `holds the forbidden word "tmp"`},
		{"rules:\n  - kind: unit_suffix\n    units: {CNY: [_amount, gmv, _spend]}\n", true, "is in CNY, so its name ends with _amount or gmv or _spend"},
		{"rules:\n  - kind: required_fields\n    fields: [description, owner]\n", true, "does not state its description, owner"},
	}
	for _, tt := range tests {
		t.Run(strings.Fields(tt.rule)[3], func(t *testing.T) {
			rules, err := semantic.ParseNamingRules("naming.yaml", []byte(tt.rule))
			if err != nil {
				t.Fatal(err)
			}
			var mine semantic.LintFindings
			for _, f := range rules.Lint(cat) {
				if f.Subject == "metric refund_amount" {
					t.Errorf("refund_amount keeps the rule, but: %s", f)
				}
				if f.Subject == "metric tmp_refund_total__x" {
					mine = append(mine, f)
				}
			}
			if len(mine) != 1 || !strings.Contains(mine[0].Message, tt.want) || mine[0].Severity != semantic.SeverityError {
				t.Fatalf("tmp_refund_total__x broke %v, want one error saying %q", mine, tt.want)
			}
			if p := mine[0].Pos; p.File != "zz_extra.yaml" || p.Line != 7 || p.Col != 5 {
				t.Errorf("the finding is at %s, want zz_extra.yaml:7:5", p)
			}
		})
	}
	// The demo keeps rules a careful catalog sets.
	rules, err := semantic.ParseNamingRules("naming.yaml", []byte("rules:\n  - kind: snake_case\n  - kind: max_length\n    max: 30\n  - kind: forbidden_words\n    words: [tmp]\n    severity: warning\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := rules.Lint(namingCatalog(t, "  - name: gmv_x\n    measure: orders.amount_total\n")); len(got) != 0 {
		t.Errorf("the demo breaks naming rules:\n%s", got)
	}
}

// TestNamingRulesConfig checks that mistakes in naming.yaml are reported at their line and column.
func TestNamingRulesConfig(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"unknown kind", "rules:\n  - kind: max_lenght\n    max: 3\n", []string{`naming.yaml:2:11: unknown kind of naming rule "max_lenght" (hint: did you mean max_length?)`}},
		{"bad max", "rules:\n  - kind: max_length\n    max: many\n", []string{`naming.yaml:3:10: max of naming rule max_length is not a positive whole number: "many"`}},
		{"missing setting", "rules:\n  - kind: forbidden_words\n", []string{"naming.yaml:2:5: a forbidden_words rule needs words"}},
		{"setting of another kind", "rules:\n  - kind: snake_case\n    max: 3\n", []string{"naming.yaml:3:10: max does not apply to a snake_case rule"}},
		{"bad severity", "rules:\n  - kind: snake_case\n    severity: fatal\n", []string{`naming.yaml:3:15: unknown severity "fatal" of naming rule snake_case`}},
		{"unknown key", "rules:\n  - kind: snake_case\n    aplies_to: [metric]\n", []string{`naming.yaml:3:5: unknown key "aplies_to" in a naming rule`}},
		{"unknown target", "rules:\n  - kind: snake_case\n    applies_to: [metrics]\n", []string{`naming.yaml:3:18: naming rule snake_case applies to unknown "metrics"`}},
		{"unknown field", "rules:\n  - kind: required_fields\n    fields: [owner, stewart]\n", []string{`naming.yaml:3:21: naming rule required_fields requires unknown field "stewart"`}},
		{"twice", "rules:\n  - kind: snake_case\n  - kind: snake_case\n", []string{`naming.yaml:3:5: naming rule "snake_case" is defined twice`}},
		{"not rules", "naming: [snake_case]\n", []string{"naming.yaml:1:1: naming rules are a mapping with one key, rules"}},
		{"not YAML", "rules:\n  - kind: [\n", []string{"naming.yaml:2:1: not YAML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := semantic.ParseNamingRules("naming.yaml", []byte(tt.text))
			var ps semantic.Problems
			if !errors.As(err, &ps) || len(ps) != len(tt.want) {
				t.Fatalf("got %v, want %d problem(s)", err, len(tt.want))
			}
			for i, p := range ps {
				if !strings.HasPrefix(p.String(), tt.want[i]) {
					t.Errorf("got %q, want it to start %q", p.String(), tt.want[i])
				}
			}
		})
	}
	if r, err := semantic.ReadNamingRules(demo.FS); err != nil || len(r.Rules) != 0 {
		t.Errorf("a directory without naming.yaml has rules %v (%v)", r, err)
	}
	names, _ := semantic.DefinitionFileNames(fstest.MapFS{"naming.yaml": {}, "metrics.yaml": {}, "sub/naming.yaml": {}})
	if !slices.Equal(names, []string{"metrics.yaml", "sub/naming.yaml"}) {
		t.Errorf("definitions files %v; the naming rules at the root are not definitions", names)
	}
}

// TestNamingRulesGovernChangeRequests checks that a proposal breaking a rule of severity error
// is refused with the rule's message, that one breaking a warning is accepted with the warning
// attached as a comment, and that a draft is linted again when submitted.
func TestNamingRulesGovernChangeRequests(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann := g.as(t, "ann", "analyst")
	rules, err := semantic.ParseNamingRules("naming.yaml", []byte(`rules:
  - kind: forbidden_words
    words: [tmp]
  - kind: max_length
    max: 16
    applies_to: [metric]
    severity: warning
`))
	if err != nil {
		t.Fatal(err)
	}
	propose := func(name string, draft bool) (store.ChangeRequest, error) {
		yaml := "name: " + name + "\nunit: CNY\ndomain: sales\nmeasure: orders.amount_total\n"
		return g.gov.Propose(ctx, ann, semantic.Proposal{Title: "add " + name, Draft: draft,
			Items: []semantic.ProposedItem{{Action: store.Create, Kind: store.KindMetric, Name: name, YAML: yaml}}})
	}
	// Before any rule, anything goes, as a draft.
	draft, err := propose("tmp_gmv", true)
	if err != nil {
		t.Fatal(err)
	}
	g.gov.SetNamingRules(rules)
	_, err = propose("tmp_gmv_two", false)
	wantClass(t, err, semantic.ErrInvalidDefinition, `break the naming rules`)
	wantClass(t, err, semantic.ErrInvalidDefinition, `metric tmp_gmv_two holds the forbidden word "tmp"`)
	_, err = g.gov.Submit(ctx, ann, draft.ID, draft.Revision)
	wantClass(t, err, semantic.ErrInvalidDefinition, `metric tmp_gmv holds the forbidden word "tmp"`)

	cr, err := propose("gross_merchandise", false)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := g.gov.Comments(ctx, ann, cr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Author != semantic.NamingRulesAuthor ||
		!strings.Contains(cs[0].Body, "warning: max_length: metric gross_merchandise is 17 characters long, more than 16") {
		t.Errorf("the request's comments are %+v, want the warning", cs)
	}
}
