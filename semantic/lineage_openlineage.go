package semantic

import (
	"net"
	"net/url"
	"strings"
	"time"
)

// Lineage is exported as OpenLineage (https://openlineage.io) static lineage: one JobEvent per
// job — each dbt model, seed and snapshot, each Koujing data model, each metric — with the
// datasets it reads and writes. Tables are datasets named as OpenLineage names PostgreSQL's
// (namespace postgres://host:port, name database.schema.table); a data model and a metric are
// datasets of the namespace "koujing", whose schema facet lists their fields and whose
// columnLineage facet says which input fields each is computed from, and how.

// The OpenLineage versions written: the core spec, and each facet's.
const (
	openLineageEventURL        = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
	openLineageSchemaFacet     = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	openLineageColumnFacet     = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
	openLineageDocFacet        = "https://openlineage.io/spec/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
	openLineageDatasetDoc      = "https://openlineage.io/spec/facets/1-1-0/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet"
	openLineageOwnerFacet      = "https://openlineage.io/spec/facets/1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet"
	openLineageDatasetOwner    = "https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet"
	openLineageJobTypeFacet    = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	openLineageKoujingProducer = "https://github.com/koujing/koujing"
	// OpenLineageNamespace is the namespace of Koujing's jobs and of its models' and metrics'
	// datasets.
	OpenLineageNamespace = "koujing"
)

// OpenLineageEvent is an OpenLineage JobEvent: a job with its inputs and outputs, outside any
// run.
type OpenLineageEvent struct {
	EventTime string               `json:"eventTime"`
	Producer  string               `json:"producer"`
	SchemaURL string               `json:"schemaURL"`
	Job       OpenLineageJob       `json:"job"`
	Inputs    []OpenLineageDataset `json:"inputs"`
	Outputs   []OpenLineageDataset `json:"outputs"`
}

// OpenLineageJob is a job: a dbt node, or the computation of a Koujing model or metric.
type OpenLineageJob struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    map[string]any `json:"facets,omitempty"`
}

// OpenLineageDataset is a dataset a job reads or writes.
type OpenLineageDataset struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    map[string]any `json:"facets,omitempty"`
}

// openLineageField is a field of a dataset's schema facet.
type openLineageField struct {
	Name        string `json:"name"`
	Type        string `json:"type,omitempty"`
	Description string `json:"description,omitempty"`
}

// openLineageInput is an input field of the columnLineage facet.
type openLineageInput struct {
	Namespace       string                      `json:"namespace"`
	Name            string                      `json:"name"`
	Field           string                      `json:"field"`
	Transformations []openLineageTransformation `json:"transformations"`
}

type openLineageTransformation struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype,omitempty"`
	Description string `json:"description,omitempty"`
}

// facet returns a facet with the fields every OpenLineage facet has.
func facet(schemaURL string, fields map[string]any) map[string]any {
	fields["_producer"] = openLineageKoujingProducer
	fields["_schemaURL"] = schemaURL
	return fields
}

// OpenLineage returns the graph's jobs as OpenLineage JobEvents at time at: one per dbt model,
// seed or snapshot, data model and metric of the graph, in the graph's order.
func (g *LineageGraph) OpenLineage(at time.Time) []OpenLineageEvent {
	e := openLineageExport{g: g, at: at.UTC().Format(time.RFC3339Nano), in: map[*LineageNode][]*LineageEdge{}}
	for _, edge := range g.Edges {
		e.in[edge.To] = append(e.in[edge.To], edge)
	}
	// dbt relations that build no table of the graph are named in the namespace of those that do:
	// one dbt project writes one warehouse.
	e.dbtNamespace = "dbt"
	for _, n := range g.Nodes {
		if n.Kind == LineageSourceTable && !n.Table.File {
			for _, edge := range e.in[n] {
				if edge.From.Kind == LineageDBTNode {
					e.dbtNamespace = n.Table.namespace()
				}
			}
		}
	}
	var out []OpenLineageEvent
	for _, n := range g.Nodes {
		switch {
		case n.Kind == LineageDBTNode && n.DBT.ResourceType != "source":
			out = append(out, e.dbtJob(n))
		case n.Kind == LineageDataModel:
			out = append(out, e.modelJob(n))
		case n.Kind == LineageMetric:
			out = append(out, e.metricJob(n))
		}
	}
	return out
}

type openLineageExport struct {
	g            *LineageGraph
	at           string
	in           map[*LineageNode][]*LineageEdge
	dbtNamespace string
}

func (e *openLineageExport) event(job OpenLineageJob, inputs, outputs []OpenLineageDataset) OpenLineageEvent {
	if inputs == nil {
		inputs = []OpenLineageDataset{}
	}
	return OpenLineageEvent{EventTime: e.at, Producer: openLineageKoujingProducer, SchemaURL: openLineageEventURL, Job: job, Inputs: inputs, Outputs: outputs}
}

// jobFacets returns a job's documentation, ownership and type facets.
func jobFacets(n *LineageNode, integration, jobType string) map[string]any {
	f := map[string]any{"jobType": facet(openLineageJobTypeFacet, map[string]any{"processingType": "BATCH", "integration": integration, "jobType": jobType})}
	if n.Description != "" {
		f["documentation"] = facet(openLineageDocFacet, map[string]any{"description": n.Description})
	}
	if len(n.Owners) > 0 {
		f["ownership"] = facet(openLineageOwnerFacet, map[string]any{"owners": ownersOf(n.Owners)})
	}
	return f
}

func ownersOf(names []string) []map[string]string {
	out := make([]map[string]string, len(names))
	for i, o := range names {
		out[i] = map[string]string{"name": o}
	}
	return out
}

// dataset returns the dataset of a node: a table's, a dbt node's relation, a model's or a metric's.
func (e *openLineageExport) dataset(n *LineageNode) OpenLineageDataset {
	switch n.Kind {
	case LineageSourceTable:
		return OpenLineageDataset{Namespace: n.Table.namespace(), Name: n.Table.datasetName()}
	case LineageDBTNode:
		for _, edge := range e.g.Edges {
			if edge.From == n && (edge.Kind == LineageBuilds || edge.Kind == LineageDescribes) {
				return e.dataset(edge.To)
			}
		}
		return OpenLineageDataset{Namespace: e.dbtNamespace, Name: n.DBT.Relation}
	case LineageDataModel:
		return OpenLineageDataset{Namespace: OpenLineageNamespace, Name: "models." + n.Key}
	case LineageMetric:
		return OpenLineageDataset{Namespace: OpenLineageNamespace, Name: "metrics." + n.Key}
	}
	return OpenLineageDataset{Namespace: OpenLineageNamespace, Name: n.Key}
}

func (e *openLineageExport) dbtJob(n *LineageNode) OpenLineageEvent {
	var inputs []OpenLineageDataset
	for _, edge := range e.in[n] {
		if edge.Kind == LineageFeeds {
			inputs = append(inputs, e.dataset(edge.From))
		}
	}
	out := e.dataset(n)
	facets := map[string]any{}
	if len(n.DBT.Columns) > 0 {
		fields := make([]openLineageField, len(n.DBT.Columns))
		for i, c := range n.DBT.Columns {
			fields[i] = openLineageField{Name: c.Name, Type: c.Type, Description: c.Description}
		}
		facets["schema"] = facet(openLineageSchemaFacet, map[string]any{"fields": fields})
	}
	if len(n.Owners) > 0 {
		facets["ownership"] = facet(openLineageDatasetOwner, map[string]any{"owners": ownersOf(n.Owners)})
	}
	if len(facets) > 0 {
		out.Facets = facets
	}
	job := OpenLineageJob{Namespace: "dbt", Name: n.Key, Facets: jobFacets(n, "DBT", strings.ToUpper(n.DBT.ResourceType))}
	return e.event(job, inputs, []OpenLineageDataset{out})
}

// modelJob is the job that reads a model's table into its dimensions and measures.
func (e *openLineageExport) modelJob(n *LineageNode) OpenLineageEvent {
	var inputs []OpenLineageDataset
	for _, edge := range e.in[n] {
		if edge.Kind == LineageBuiltOn {
			inputs = append(inputs, e.dataset(edge.From))
		}
	}
	var fields []openLineageField
	lineage := map[string]any{}
	for _, edge := range e.g.Edges {
		if edge.From != n || edge.Kind != LineageDefines {
			continue
		}
		member := edge.To
		var field openLineageField
		var inputFields []openLineageInput
		for _, r := range e.in[member] {
			if r.Kind != LineageReads {
				continue
			}
			t := openLineageTransformation{Type: "DIRECT", Subtype: "TRANSFORMATION", Description: r.Detail}
			if member.Kind == LineageMeasure {
				t.Subtype = "AGGREGATION"
			} else if r.Detail == r.From.Column.Name {
				t = openLineageTransformation{Type: "DIRECT", Subtype: "IDENTITY"}
			}
			in := e.dataset(tableOf(e.g, r.From))
			inputFields = append(inputFields, openLineageInput{Namespace: in.Namespace, Name: in.Name, Field: r.From.Column.Name,
				Transformations: []openLineageTransformation{t}})
		}
		if member.Kind == LineageDimension {
			field = openLineageField{Name: member.Dimension.Name, Type: string(member.Dimension.Type), Description: member.Description}
		} else {
			field = openLineageField{Name: member.Measure.Name, Type: member.Measure.Agg.String(), Description: member.Description}
		}
		fields = append(fields, field)
		if len(inputFields) > 0 {
			lineage[field.Name] = map[string]any{"inputFields": inputFields}
		}
	}
	out := e.dataset(n)
	out.Facets = map[string]any{"schema": facet(openLineageSchemaFacet, map[string]any{"fields": nonNil(fields)}),
		"columnLineage": facet(openLineageColumnFacet, map[string]any{"fields": lineage})}
	if n.Description != "" {
		out.Facets["documentation"] = facet(openLineageDatasetDoc, map[string]any{"description": n.Description})
	}
	job := OpenLineageJob{Namespace: OpenLineageNamespace, Name: "model:" + n.Key, Facets: jobFacets(n, "KOUJING", "DATA_MODEL")}
	return e.event(job, inputs, []OpenLineageDataset{out})
}

// metricJob is the job that computes a metric from a measure, another metric's rows or other
// metrics' values.
func (e *openLineageExport) metricJob(n *LineageNode) OpenLineageEvent {
	seen := map[string]bool{}
	var inputs []OpenLineageDataset
	var inputFields []openLineageInput
	for _, r := range e.in[n] {
		var from OpenLineageDataset
		var field string
		var t openLineageTransformation
		switch r.Kind {
		case LineageAggregates:
			from, field = e.dataset(modelOf(e.g, r.From)), r.From.Measure.Name
			t = openLineageTransformation{Type: "DIRECT", Subtype: "AGGREGATION", Description: r.Detail}
		case LineageDerives:
			from, field = e.dataset(r.From), r.From.Key
			t = openLineageTransformation{Type: "DIRECT", Subtype: "IDENTITY", Description: r.Detail}
			if r.Detail != "" {
				t.Subtype = "WINDOW"
			}
		case LineageFiltersOn:
			from, field = e.dataset(modelOf(e.g, r.From)), r.From.Dimension.Name
			t = openLineageTransformation{Type: "INDIRECT", Subtype: "FILTER", Description: r.Detail}
		case LineageCombines:
			from, field = e.dataset(r.From), r.From.Key
			t = openLineageTransformation{Type: "DIRECT", Subtype: "TRANSFORMATION", Description: r.Detail}
		default:
			continue
		}
		if from.Name == "" {
			continue
		}
		if key := from.Namespace + " " + from.Name; !seen[key] {
			seen[key] = true
			inputs = append(inputs, OpenLineageDataset{Namespace: from.Namespace, Name: from.Name})
		}
		inputFields = append(inputFields, openLineageInput{Namespace: from.Namespace, Name: from.Name, Field: field,
			Transformations: []openLineageTransformation{t}})
	}
	out := e.dataset(n)
	m := n.Metric
	out.Facets = map[string]any{
		"schema": facet(openLineageSchemaFacet, map[string]any{"fields": []openLineageField{{Name: m.Name, Type: m.Unit, Description: m.Description}}}),
		"columnLineage": facet(openLineageColumnFacet, map[string]any{"fields": map[string]any{
			m.Name: map[string]any{"inputFields": nonNil(inputFields)}}}),
	}
	if len(n.Owners) > 0 {
		out.Facets["ownership"] = facet(openLineageDatasetOwner, map[string]any{"owners": ownersOf(n.Owners)})
	}
	job := OpenLineageJob{Namespace: OpenLineageNamespace, Name: "metric:" + n.Key, Facets: jobFacets(n, "KOUJING", "METRIC")}
	return e.event(job, inputs, []OpenLineageDataset{out})
}

// nonNil returns s, or an empty slice for nil, which JSON writes as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// tableOf returns the table node of a column node in the graph, or the column itself when the
// graph does not hold it.
func tableOf(g *LineageGraph, col *LineageNode) *LineageNode {
	for _, e := range g.Edges {
		if e.To == col && e.Kind == LineageHasColumn {
			return e.From
		}
	}
	return &LineageNode{Kind: LineageSourceTable, Table: col.Column.Table}
}

// modelOf returns the model node that defines a dimension or measure node, or a node standing
// for it when the graph does not hold it.
func modelOf(g *LineageGraph, member *LineageNode) *LineageNode {
	for _, e := range g.Edges {
		if e.To == member && e.Kind == LineageDefines {
			return e.From
		}
	}
	name := ""
	switch {
	case member.Dimension != nil:
		name = member.Dimension.Model.Name
	case member.Measure != nil:
		name = member.Measure.Model.Name
	}
	return &LineageNode{Kind: LineageDataModel, Key: name}
}

// namespace returns the OpenLineage namespace of the table's data source: postgres://host:port
// for a PostgreSQL connection (without credentials), koujing://demo for the built-in tables,
// file for files.
func (t *LineageTable) namespace() string {
	switch {
	case t.File:
		return "file"
	case t.Namespace != "":
		return t.Namespace
	}
	return "koujing://" + t.Connection
}

// datasetName returns the table's dataset name: database.schema.table for a PostgreSQL table
// (schema public when the definitions name none), the path of a file, the table of the demo.
func (t *LineageTable) datasetName() string {
	if t.File || t.Namespace == "" {
		return t.Table
	}
	schema, table := t.schemaAndTable()
	name := schema + "." + table
	if t.Database != "" {
		name = t.Database + "." + name
	}
	return name
}

// openLineageNamespace returns the namespace OpenLineage gives a PostgreSQL connection string:
// postgres://host:port, or "" when the string names no host.
func openLineageNamespace(conn string) string {
	host, port := "", "5432"
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return ""
		}
		host = u.Hostname()
		if p := u.Port(); p != "" {
			port = p
		}
	} else {
		for _, f := range strings.Fields(conn) {
			if v, ok := strings.CutPrefix(f, "host="); ok {
				host = strings.Trim(v, "'")
			}
			if v, ok := strings.CutPrefix(f, "port="); ok {
				port = strings.Trim(v, "'")
			}
		}
	}
	if host == "" || strings.Contains(host, ",") || strings.HasPrefix(host, "/") {
		return ""
	}
	return "postgres://" + net.JoinHostPort(host, port)
}
