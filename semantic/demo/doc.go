// Package demo holds the definitions Koujing ships with: data models over the built-in demo
// dataset (the connection "demo": customers, products, orders and order_items) and the metrics
// of the demo shop, in the same YAML format users write their own definitions in.
package demo

import "embed"

// FS holds the demo definitions, one YAML file per model plus domains.yaml and metrics.yaml, at
// the root of the file system; load it with semantic.LoadFS.
//
//go:embed *.yaml
var FS embed.FS
