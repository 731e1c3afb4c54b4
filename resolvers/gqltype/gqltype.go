// Package gqltype holds the few Go types that the generated GraphQL code (package graph) binds to
// and that gqlgen cannot generate: the JSON scalar, which carries rows already encoded, and the
// Node interface, which the catalog's types satisfy without knowing of GraphQL.
package gqltype

import (
	"errors"
	"io"
)

// JSON is a value of the JSON scalar: a JSON document already encoded, written into the response
// as it is. Query results use it so that rows are encoded once, straight from their Arrow
// batches, with numbers as JSON numbers.
type JSON []byte

// MarshalGQL writes the encoded document; an empty value is written as null.
func (j JSON) MarshalGQL(w io.Writer) {
	if len(j) == 0 {
		_, _ = io.WriteString(w, "null")
		return
	}
	_, _ = w.Write(j)
}

// UnmarshalGQL rejects every input: JSON is only ever returned, never accepted.
func (j *JSON) UnmarshalGQL(any) error {
	return errors.New("JSON is an output type and cannot be used as an argument")
}

// Node is any object with a global ID: the GraphQL interface Node. The catalog's types
// (*semantic.Metric, *semantic.Dimension, …) are Nodes as they are; which GraphQL type an object
// is follows from its Go type, and its ID from that type and its name.
type Node interface{}
