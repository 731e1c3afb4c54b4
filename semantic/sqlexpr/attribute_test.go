package sqlexpr

import (
	"fmt"
	"strings"
	"testing"
)

// TestReplaceAttributes replaces placeholders in every kind of node, with one value, a list, and
// an empty list, and leaves the parsed tree as it was.
func TestReplaceAttributes(t *testing.T) {
	values := map[string][]Node{
		"region":  {&String{Value: "east"}},
		"regions": {&String{Value: "east"}, &String{Value: "it's"}},
		"none":    nil,
		"level":   {&Number{Text: "3"}},
	}
	lookup := func(a *Attribute) ([]Node, error) {
		v, ok := values[a.Name]
		if !ok {
			return nil, fmt.Errorf("no attribute %s", a.Name)
		}
		return v, nil
	}
	tests := []struct{ src, want string }{
		{"region = {user.region}", "(region = 'east')"},
		{"region IN {user.regions}", "(region IN ('east', 'it''s'))"},
		{"region IN ('west', {user.regions})", "(region IN ('west', 'east', 'it''s'))"},
		{"region IN {user.none}", "FALSE"},
		{"region NOT IN {user.none}", "TRUE"},
		{"NOT region = {user.region}", "(NOT (region = 'east'))"},
		{"-{user.level} < x", "((-3) < x)"},
		{"{user.region} IS NULL", "('east' IS NULL)"},
		{"x BETWEEN {user.level} AND {user.level}", "(x BETWEEN 3 AND 3)"},
		{"coalesce(region, {user.region}) = 'east'", "(coalesce(region, 'east') = 'east')"},
		{"CASE WHEN a = {user.level} THEN {user.region} ELSE {user.region} END = 'east'",
			"(CASE WHEN (a = 3) THEN 'east' ELSE 'east' END = 'east')"},
		{"CASE WHEN a = {user.level} THEN 1 END = 1", "(CASE WHEN (a = 3) THEN 1 END = 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			n, err := Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			before := n.String()
			got, err := ReplaceAttributes(n, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if n.String() != before {
				t.Errorf("the parsed tree changed: %s, was %s", n, before)
			}
			if len(Attributes(got)) != 0 {
				t.Errorf("placeholders left: %v", Attributes(got))
			}
		})
	}
	for src, want := range map[string]string{
		"region = {user.regions}": "{user.regions} has 2 values; only an IN list takes several",
		"region = {user.city}":    "no attribute city",
		"region IN {user.city}":   "no attribute city",
	} {
		n, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ReplaceAttributes(n, lookup); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

func TestListAttributeOutsideIn(t *testing.T) {
	isList := func(name string) bool { return strings.HasSuffix(name, "s") }
	for src, want := range map[string]string{
		"region IN {user.regions}":                 "",
		"region IN ('a', {user.regions})":          "",
		"region = {user.regions}":                  "{user.regions}",
		"a = 1 AND region IN {user.regions}":       "",
		"a = 1 OR coalesce({user.regions}, x) = 1": "{user.regions}",
		"{user.regions} IN (region)":               "{user.regions}",
		"region = {user.region}":                   "",
	} {
		n, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if a := ListAttributeOutsideIn(n, isList); a != nil {
			got = a.String()
		}
		if got != want {
			t.Errorf("%s: %q, want %q", src, got, want)
		}
	}
}
