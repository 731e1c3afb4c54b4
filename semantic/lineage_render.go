package semantic

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A lineage graph is drawn for people as Graphviz DOT (for those who have Graphviz) and as SVG
// drawn here, so that the server needs no Graphviz to show it. Both lay it out left to right in
// layers — dbt jobs, tables, columns and models, dimensions and measures, metrics (atomic, then
// those built on them), consumers — with each node's kind, name, label and owners on it.

// lineageLayout is a graph placed in layers. An edge that spans several layers passes through a
// placeholder in each layer between its ends (a node of no kind), which takes its place in the
// layer's order, so that the edge is routed between the boxes of those layers, never under one.
type lineageLayout struct {
	layers [][]*LineageNode
	layer  map[*LineageNode]int
	// route holds the placeholders of each edge that spans layers, from its upstream end.
	route map[*LineageEdge][]*LineageNode
}

// placeholder reports whether a node of the layout stands for a point of a long edge.
func placeholder(n *LineageNode) bool { return n.Kind == "" }

// layoutLineage assigns each node a layer — by kind, with dbt nodes and metrics further right the
// longer the chain of their kind before them — and orders each layer so that edges cross little.
func layoutLineage(g *LineageGraph) *lineageLayout {
	chain := func(kind LineageNodeKind, edges map[LineageEdgeKind]bool) map[*LineageNode]int {
		depth := map[*LineageNode]int{}
		in := map[*LineageNode][]*LineageNode{}
		for _, e := range g.Edges {
			if edges[e.Kind] && e.From.Kind == kind && e.To.Kind == kind {
				in[e.To] = append(in[e.To], e.From)
			}
		}
		var visit func(n *LineageNode, guard int) int
		visit = func(n *LineageNode, guard int) int {
			if d, ok := depth[n]; ok || guard > len(g.Nodes) {
				return d
			}
			d := 0
			for _, p := range in[n] {
				d = max(d, visit(p, guard+1)+1)
			}
			depth[n] = d
			return d
		}
		for _, n := range g.Nodes {
			if n.Kind == kind {
				visit(n, 0)
			}
		}
		return depth
	}
	dbtDepth := chain(LineageDBTNode, map[LineageEdgeKind]bool{LineageFeeds: true})
	metricDepth := chain(LineageMetric, map[LineageEdgeKind]bool{LineageDerives: true, LineageCombines: true})
	dbtLayers, metricLayers := 0, 0
	for _, d := range dbtDepth {
		dbtLayers = max(dbtLayers, d+1)
	}
	for _, d := range metricDepth {
		metricLayers = max(metricLayers, d+1)
	}
	raw := map[*LineageNode]int{}
	for _, n := range g.Nodes {
		switch n.Kind {
		case LineageDBTNode:
			raw[n] = dbtDepth[n]
		case LineageSourceTable:
			raw[n] = dbtLayers
		case LineageColumn, LineageDataModel:
			raw[n] = dbtLayers + 1
		case LineageDimension, LineageMeasure:
			raw[n] = dbtLayers + 2
		case LineageMetric:
			raw[n] = dbtLayers + 3 + metricDepth[n]
		case LineageConsumer:
			raw[n] = dbtLayers + 3 + metricLayers
		}
	}
	// Layers no node is in are left out.
	used := map[int]bool{}
	for _, l := range raw {
		used[l] = true
	}
	var order []int
	for l := range used {
		order = append(order, l)
	}
	sort.Ints(order)
	index := map[int]int{}
	for i, l := range order {
		index[l] = i
	}
	lay := &lineageLayout{layers: make([][]*LineageNode, len(order)), layer: map[*LineageNode]int{}, route: map[*LineageEdge][]*LineageNode{}}
	for _, n := range g.Nodes {
		i := index[raw[n]]
		lay.layer[n] = i
		lay.layers[i] = append(lay.layers[i], n)
	}
	for _, e := range g.Edges {
		for i := lay.layer[e.From] + 1; i < lay.layer[e.To]; i++ {
			p := &LineageNode{Key: e.From.Key + " → " + e.To.Key}
			lay.layer[p] = i
			lay.layers[i] = append(lay.layers[i], p)
			lay.route[e] = append(lay.route[e], p)
		}
	}
	lay.reduceCrossings(g)
	return lay
}

// segments returns the pairs of consecutive points of each edge's route between layers: its ends
// and placeholders.
func (lay *lineageLayout) segments(g *LineageGraph) [][2]*LineageNode {
	var out [][2]*LineageNode
	for _, e := range g.Edges {
		if lay.layer[e.From] == lay.layer[e.To] {
			continue
		}
		prev := e.From
		for _, p := range append(lay.route[e], e.To) {
			out = append(out, [2]*LineageNode{prev, p})
			prev = p
		}
	}
	return out
}

// reduceCrossings orders each layer by the mean position of each node's neighbours in the layers
// beside it (the barycenter heuristic), sweeping right and left a few times.
func (lay *lineageLayout) reduceCrossings(g *LineageGraph) {
	pos := map[*LineageNode]float64{}
	for _, layer := range lay.layers {
		for i, n := range layer {
			pos[n] = float64(i)
		}
	}
	neighbours := map[*LineageNode][]*LineageNode{}
	for _, s := range lay.segments(g) {
		neighbours[s[0]] = append(neighbours[s[0]], s[1])
		neighbours[s[1]] = append(neighbours[s[1]], s[0])
	}
	sweep := func(i, side int) {
		layer := lay.layers[i]
		key := map[*LineageNode]float64{}
		for _, n := range layer {
			sum, count := 0.0, 0
			for _, o := range neighbours[n] {
				if lay.layer[o] == i+side {
					sum += pos[o]
					count++
				}
			}
			if count == 0 {
				key[n] = pos[n]
			} else {
				key[n] = sum / float64(count)
			}
		}
		sort.SliceStable(layer, func(a, b int) bool { return key[layer[a]] < key[layer[b]] })
		for j, n := range layer {
			pos[n] = float64(j)
		}
	}
	for range 4 {
		for i := 1; i < len(lay.layers); i++ {
			sweep(i, -1)
		}
		for i := len(lay.layers) - 2; i >= 0; i-- {
			sweep(i, 1)
		}
	}
}

// lineageKindText names a node's kind for people, with what sets it apart: "METRIC · derived".
func lineageKindText(n *LineageNode) string {
	var s string
	switch n.Kind {
	case LineageDBTNode:
		s = "DBT " + strings.ToUpper(n.DBT.ResourceType)
		if n.DBT.Materialized != "" {
			s += " · " + n.DBT.Materialized
		}
	case LineageSourceTable:
		s = "TABLE"
		if n.Table.File {
			s = "FILE"
		} else {
			s += " · " + n.Table.Connection
		}
	case LineageColumn:
		s = "COLUMN · " + n.Column.Type
	case LineageDataModel:
		s = "DATA MODEL"
	case LineageDimension:
		s = "DIMENSION · " + string(n.Dimension.Type)
	case LineageMeasure:
		s = "MEASURE · " + n.Measure.Agg.String()
	case LineageMetric:
		s = "METRIC · " + string(n.Metric.Kind)
	case LineageConsumer:
		switch {
		case n.Consumer.Client != "":
			s = "CLIENT"
		case n.Consumer.APIKey:
			s = "API CLIENT"
		default:
			s = "USER"
		}
	}
	if n.Version > 0 && (n.Kind == LineageMetric || n.Kind == LineageDataModel) {
		s += fmt.Sprintf(" · v%d", n.Version)
	}
	return s
}

// lineageNodeLines are the lines of text a node shows: its kind, its name, its label when it says
// more, and its owners.
func lineageNodeLines(n *LineageNode) []string {
	lines := []string{lineageKindText(n), n.Name}
	if n.Label != "" && n.Label != n.Name {
		lines = append(lines, n.Label)
	}
	if len(n.Owners) > 0 {
		line := "owner:"
		for i, o := range n.Owners {
			if i > 0 {
				line += ","
			}
			if utf8.RuneCountInString(line+" "+o) > svgMaxChars && line != "owner:" {
				lines = append(lines, line)
				line = " "
			}
			line += " " + o
		}
		lines = append(lines, line)
	}
	return lines
}

// The colours of each kind of node, and of each kind of edge.
var lineageFill = map[LineageNodeKind]string{
	LineageDBTNode: "#ede9fe", LineageSourceTable: "#dbeafe", LineageColumn: "#f1f5f9", LineageDataModel: "#dcfce7",
	LineageDimension: "#fef9c3", LineageMeasure: "#ffedd5", LineageMetric: "#fee2e2", LineageConsumer: "#e5e7eb",
}

var lineageStroke = map[LineageNodeKind]string{
	LineageDBTNode: "#7c3aed", LineageSourceTable: "#2563eb", LineageColumn: "#64748b", LineageDataModel: "#16a34a",
	LineageDimension: "#ca8a04", LineageMeasure: "#ea580c", LineageMetric: "#dc2626", LineageConsumer: "#4b5563",
}

// DOT writes the graph in Graphviz's language, left to right, a rank per layer.
func (g *LineageGraph) DOT() []byte {
	lay := layoutLineage(g)
	id := map[*LineageNode]string{}
	for i, n := range g.Nodes {
		id[n] = fmt.Sprintf("n%d", i)
	}
	var b bytes.Buffer
	b.WriteString("digraph lineage {\n")
	b.WriteString("  rankdir=LR;\n  nodesep=0.25;\n  ranksep=0.9;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=8, color=\"#94a3b8\", fontcolor=\"#475569\"];\n")
	for _, layer := range lay.layers {
		b.WriteString("  { rank=same;")
		for _, n := range layer {
			if !placeholder(n) {
				fmt.Fprintf(&b, " %s;", id[n])
			}
		}
		b.WriteString(" }\n")
	}
	for _, n := range g.Nodes {
		extra := ""
		if n == g.Root {
			extra = ", penwidth=2.5"
		}
		fmt.Fprintf(&b, "  %s [label=%s, fillcolor=%q, color=%q, tooltip=%s%s];\n", id[n], dotString(strings.Join(lineageNodeLines(n), "\n")),
			lineageFill[n.Kind], lineageStroke[n.Kind], dotString(string(n.Kind)+" "+n.Key), extra)
	}
	for _, e := range g.Edges {
		label := strings.ReplaceAll(string(e.Kind), "_", " ")
		fmt.Fprintf(&b, "  %s -> %s [label=%s", id[e.From], id[e.To], dotString(label))
		if e.Detail != "" {
			fmt.Fprintf(&b, ", tooltip=%s", dotString(e.Detail))
		}
		b.WriteString("];\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// dotString quotes s as a DOT string, its line breaks as \n.
func dotString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")
	return `"` + r.Replace(s) + `"`
}

// Sizes of the SVG drawing, in pixels.
const (
	svgFont      = 12.0
	svgSmallFont = 10.0
	svgLine      = 16.0
	svgPadX      = 10.0
	svgPadY      = 8.0
	svgNodeGap   = 14.0
	svgLayerGap  = 70.0
	svgMargin    = 20.0
	svgMaxChars  = 48
	// svgRouteGap is the room an edge passing through a layer takes in it.
	svgRouteGap = 4.0
)

// lineageTextWidth estimates how wide text is drawn in a sans-serif font of that size: wide (CJK)
// characters take a full em, capitals and a few wide letters more than the rest. It errs wide,
// so that no text runs out of its box.
func lineageTextWidth(s string, size float64, bold bool) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case isWideRune(r):
			w += 1.0
		case strings.ContainsRune("mwMW@%", r):
			w += 0.9
		case unicode.IsUpper(r) || unicode.IsDigit(r):
			w += 0.68
		case strings.ContainsRune("iljtf.,:;'|!()[] ", r):
			w += 0.34
		default:
			w += 0.62
		}
	}
	if bold {
		w *= 1.15
	}
	return w * size
}

// isWideRune reports whether a character is drawn a full em wide: Han, kana, Hangul and full-width
// forms.
func isWideRune(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r) || (r >= 0xFF00 && r <= 0xFFEF) || (r >= 0x3000 && r <= 0x303F)
}

// clipLineageText shortens text past max characters with an ellipsis.
func clipLineageText(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

type lineageBox struct {
	x, y, w, h float64
	lines      []string
}

// SVG draws the graph: layers left to right, upstream first, each node a box with its kind,
// name, label and owners, and each edge a curve coloured by kind, explained in a legend. Nodes
// never overlap: each layer is a column as wide as its widest box, its boxes stacked apart.
func (g *LineageGraph) SVG() []byte {
	lay := layoutLineage(g)
	boxes := map[*LineageNode]*lineageBox{}
	x := svgMargin
	var layerHeights []float64
	for _, layer := range lay.layers {
		width := 0.0
		for _, n := range layer {
			b := &lineageBox{}
			boxes[n] = b
			if placeholder(n) {
				b.h = svgRouteGap
				continue
			}
			for i, l := range lineageNodeLines(n) {
				l = clipLineageText(l, svgMaxChars)
				b.lines = append(b.lines, l)
				size, bold := svgSmallFont, false
				if i == 1 {
					size, bold = svgFont, true
				}
				b.w = max(b.w, lineageTextWidth(l, size, bold)+2*svgPadX)
			}
			b.h = float64(len(b.lines))*svgLine + 2*svgPadY - 4
			width = max(width, b.w)
		}
		height := 0.0
		for _, n := range layer {
			b := boxes[n]
			b.x, b.w = x, width
			height += b.h + svgNodeGap
		}
		layerHeights = append(layerHeights, height-svgNodeGap)
		x += width + svgLayerGap
	}
	tallest := 0.0
	for _, h := range layerHeights {
		tallest = max(tallest, h)
	}
	for i, layer := range lay.layers {
		y := svgMargin + 24 + (tallest-layerHeights[i])/2
		for _, n := range layer {
			boxes[n].y = y
			y += boxes[n].h + svgNodeGap
		}
	}
	width := x - svgLayerGap + svgMargin
	kindsUsed := map[LineageEdgeKind]bool{}
	for _, e := range g.Edges {
		kindsUsed[e.Kind] = true
	}
	legendY := svgMargin + 24 + tallest + 30
	height := legendY + 20*float64(len(kindsUsed)/4+2) + svgMargin

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, 'PingFang SC', 'Noto Sans CJK SC', sans-serif">`+"\n",
		max(width, 560), height, max(width, 560), height)
	fmt.Fprintf(&b, "<title>%s</title>\n", svgEscape("Lineage of "+string(g.Root.Kind)+" "+g.Root.Name))
	b.WriteString(`<defs>`)
	for _, k := range lineageEdgeKinds {
		fmt.Fprintf(&b, `<marker id="arrow-%s" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="%s"/></marker>`,
			k, lineageEdgeColor[k])
	}
	b.WriteString("</defs>\n")
	b.WriteString(`<rect width="100%" height="100%" fill="#ffffff"/>` + "\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="14" font-weight="bold" fill="#0f172a">%s</text>`+"\n", svgMargin, svgMargin+8,
		svgEscape("Lineage of "+g.Root.Name+" (upstream left, downstream right)"))
	for _, e := range g.Edges {
		f, t := boxes[e.From], boxes[e.To]
		var d string
		if lay.layer[e.From] >= lay.layer[e.To] {
			// Within a layer the edge bows out to the left of the boxes.
			x1, y1, x2, y2 := f.x, f.y+f.h/2, t.x, t.y+t.h/2
			bow := 30 + min(60, math.Abs(y2-y1)/6)
			d = fmt.Sprintf("M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f", x1, y1, x1-bow, y1, x2-bow, y2, x2, y2)
		} else {
			// Between layers it runs from the right of one box to the left of the next, through
			// its placeholders: a curve into each, a straight line across its layer.
			x, y := f.x+f.w, f.y+f.h/2
			d = fmt.Sprintf("M %.1f %.1f", x, y)
			curve := func(x2, y2 float64) {
				mid := (x2 - x) / 2
				d += fmt.Sprintf(" C %.1f %.1f, %.1f %.1f, %.1f %.1f", x+mid, y, x2-mid, y2, x2, y2)
				x, y = x2, y2
			}
			for _, p := range lay.route[e] {
				pb := boxes[p]
				curve(pb.x, pb.y+pb.h/2)
				x = pb.x + pb.w
				d += fmt.Sprintf(" L %.1f %.1f", x, y)
			}
			curve(t.x, t.y+t.h/2)
		}
		title := strings.ReplaceAll(string(e.Kind), "_", " ") + ": " + e.From.Name + " → " + e.To.Name
		if e.Detail != "" {
			title += " (" + e.Detail + ")"
		}
		if e.Usage != nil {
			title += fmt.Sprintf(" (%d queries, last %s)", e.Usage.Queries, e.Usage.Last.UTC().Format("2006-01-02"))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.3" marker-end="url(#arrow-%s)"><title>%s</title></path>`+"\n",
			d, lineageEdgeColor[e.Kind], e.Kind, svgEscape(title))
	}
	for _, n := range g.Nodes {
		bx := boxes[n]
		stroke := 1.2
		if n == g.Root {
			stroke = 2.8
		}
		fmt.Fprintf(&b, `<g><title>%s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="6" fill="%s" stroke="%s" stroke-width="%.1f"/>`,
			svgEscape(string(n.Kind)+" "+n.Key), bx.x, bx.y, bx.w, bx.h, lineageFill[n.Kind], lineageStroke[n.Kind], stroke)
		for i, l := range bx.lines {
			size, weight, fill := svgSmallFont, "normal", "#475569"
			if i == 1 {
				size, weight, fill = svgFont, "bold", "#0f172a"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="%.0f" font-weight="%s" fill="%s">%s</text>`,
				bx.x+svgPadX, bx.y+svgPadY+float64(i)*svgLine+11, size, weight, fill, svgEscape(l))
		}
		b.WriteString("</g>\n")
	}
	lx, ly := svgMargin, legendY
	for _, k := range lineageEdgeKinds {
		if !kindsUsed[k] {
			continue
		}
		if lx > svgMargin+3*170 {
			lx, ly = svgMargin, ly+20
		}
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"/><text x="%.0f" y="%.0f" font-size="10" fill="#334155">%s</text>`+"\n",
			lx, ly, lx+24, ly, lineageEdgeColor[k], lx+30, ly+4, svgEscape(strings.ReplaceAll(string(k), "_", " ")))
		lx += 170
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// lineageEdgeKinds lists the edge kinds in the order the legend shows them.
var lineageEdgeKinds = []LineageEdgeKind{LineageFeeds, LineageBuilds, LineageDescribes, LineageHasColumn, LineageBuiltOn, LineageDefines,
	LineageReads, LineageJoins, LineageSemiAdditiveOver, LineageAggregates, LineageDerives, LineageFiltersOn, LineageCombines, LineageQueriedBy}

var lineageEdgeColor = map[LineageEdgeKind]string{
	LineageFeeds: "#7c3aed", LineageBuilds: "#7c3aed", LineageDescribes: "#a78bfa", LineageHasColumn: "#94a3b8",
	LineageBuiltOn: "#2563eb", LineageDefines: "#16a34a", LineageReads: "#0891b2", LineageJoins: "#64748b",
	LineageSemiAdditiveOver: "#ca8a04", LineageAggregates: "#ea580c", LineageDerives: "#dc2626", LineageFiltersOn: "#ca8a04",
	LineageCombines: "#be123c", LineageQueriedBy: "#4b5563",
}

func svgEscape(s string) string { return html.EscapeString(s) }
