package authz

import (
	"fmt"
	"strings"
)

// Action is what a principal wants to do with an object.
type Action string

// The actions a policy grants or denies.
const (
	// Read: see the object in the catalog, its lineage and search.
	Read Action = "read"
	// Query: compute a metric, or group and filter by a dimension.
	Query Action = "query"
	// Propose: open a change request for a definition.
	Propose Action = "propose"
	// Review: approve or reject change requests.
	Review Action = "review"
	// Publish: publish a reviewed definition.
	Publish Action = "publish"
	// Admin: change the access policy and API keys of the tenant.
	Admin Action = "admin"
)

// Actions lists every action.
var Actions = []Action{Read, Query, Propose, Review, Publish, Admin}

// ParseAction reads an action's name.
func ParseAction(s string) (Action, error) {
	for _, a := range Actions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown action %q; the actions are %s", s, joinActions())
}

func joinActions() string {
	names := make([]string, len(Actions))
	for i, a := range Actions {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// ObjectKind is the kind of thing a policy rule names.
type ObjectKind string

// The kinds of objects. A rule's object is KIND:NAME, with * and ? wildcards: "metric:gmv_*",
// "dimension:customers.name", "model:orders", "domain:finance", "tag:pii", or "*" for all.
const (
	MetricObject    ObjectKind = "metric"
	DimensionObject ObjectKind = "dimension"
	ModelObject     ObjectKind = "model"
	DomainObject    ObjectKind = "domain"
	TagObject       ObjectKind = "tag"
	// PolicyObject is the tenant's access policy itself, which the admin action is checked on.
	PolicyObject ObjectKind = "policy"
	// ConnectionObject is a warehouse connection, which changes to definitions may propose.
	ConnectionObject ObjectKind = "connection"
)

var objectKinds = []ObjectKind{MetricObject, DimensionObject, ModelObject, DomainObject, TagObject, PolicyObject, ConnectionObject}

// Object is a catalog object as a policy sees it: its own name and the names it is known by
// through what it belongs to. A rule matches the object when its pattern matches any facet, so
// "domain:finance" covers every finance metric and "tag:pii" every dimension tagged pii.
type Object struct {
	Kind ObjectKind
	// Name is the metric's or model's name, or a dimension's qualified name (model.dimension).
	Name string
	// Domain is a metric's business domain; empty for the others.
	Domain string
	// Models are the data models a dimension belongs to or a metric aggregates; empty for the
	// others.
	Models []string
	// Tags are the object's tags.
	Tags []string
}

// Facets returns the names a rule's object pattern is matched against: KIND:NAME first, then
// domain:D, model:M for each model and tag:T for each tag.
func (o Object) Facets() []string {
	out := make([]string, 0, 2+len(o.Models)+len(o.Tags))
	out = append(out, string(o.Kind)+":"+o.Name)
	if o.Domain != "" {
		out = append(out, string(DomainObject)+":"+o.Domain)
	}
	for _, m := range o.Models {
		out = append(out, string(ModelObject)+":"+m)
	}
	for _, t := range o.Tags {
		out = append(out, string(TagObject)+":"+t)
	}
	return out
}

// String is the object's first facet, KIND:NAME.
func (o Object) String() string { return string(o.Kind) + ":" + o.Name }
