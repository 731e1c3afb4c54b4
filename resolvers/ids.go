package resolvers

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/koujing/koujing/resolvers/gqltype"
	"github.com/koujing/koujing/semantic"
)

// The GraphQL type names that global IDs carry (and those of governance.go).
const (
	metricType    = "Metric"
	dimensionType = "Dimension"
	dataModelType = "DataModel"
	measureType   = "Measure"
	domainType    = "Domain"
)

// globalID returns the opaque ID of the object of that GraphQL type and key: base64 of
// "Type:key". Keys are names, so an ID stays valid for as long as its object keeps its name.
func globalID(typ, key string) string {
	return base64.StdEncoding.EncodeToString([]byte(typ + ":" + key))
}

// parseGlobalID returns the type and key of a global ID.
func parseGlobalID(id string) (typ, key string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return "", "", false
	}
	typ, key, ok = strings.Cut(string(raw), ":")
	return typ, key, ok && typ != "" && key != ""
}

// lookupNode returns the object a global ID names, if the caller can see it; an object it may not
// see gets the error of one that does not exist.
func lookupNode(ctx context.Context, svc *semantic.Service, id string) (gqltype.Node, error) {
	typ, key, ok := parseGlobalID(id)
	if !ok {
		return nil, notFoundf("%q is not a global ID; pass the id field of an object as it is", id)
	}
	if node, governed, err := lookupGovernedNode(ctx, svc, typ, key, id); governed {
		if err == nil && node == nil {
			err = notFoundf("no object has the ID %q; it may have been removed, or the caller may not see it", id)
		}
		return node, err
	}
	acc := accessFor(ctx)
	var node gqltype.Node
	switch typ {
	case metricType:
		if m := acc.Metric(key); m != nil {
			node = m
		}
	case dimensionType:
		if d := acc.Dimension(key); d != nil {
			node = d
		}
	case dataModelType:
		if m := acc.Model(key); m != nil {
			node = m
		}
	case measureType:
		if m := acc.Measure(key); m != nil {
			node = m
		}
	case domainType:
		if d := acc.Domain(key); d != nil {
			node = d
		}
	}
	if node == nil {
		return nil, notFoundf("no object has the ID %q; it may have been renamed or removed", id)
	}
	return node, nil
}
