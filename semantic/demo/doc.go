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

// Policy is the demo's access policy for tenant demo, a policy file in Casbin's CSV format: the
// roles analyst, viewer, east_sales, regional_manager, finance, support and admin. Read it with
// authz.ParsePolicyFile.
//
//go:embed policy.csv
var Policy []byte

// PolicyFile is the name Policy is reported under in messages.
const PolicyFile = "policy.csv"
