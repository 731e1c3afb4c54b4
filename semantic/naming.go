package semantic

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Naming conventions are lint rules a definitions directory sets for the names of what it
// defines, in the file naming.yaml at its root (the loader does not read it as definitions):
//
//	rules:
//	  - kind: snake_case            # lower-case words joined by single _, starting with a letter
//	    severity: error             # error (refused) or warning (reported); default error
//	  - kind: max_length
//	    max: 40
//	    applies_to: [metric]        # metric, dimension, measure, model; default all of them
//	  - kind: forbidden_words       # words of a name (split at _) that may not appear
//	    words: [tmp, test, new]
//	    severity: warning
//	  - kind: unit_suffix           # a metric of one of these units ends in one of the suffixes
//	    units:
//	      CNY: [_amount, gmv]
//	      orders: [_count]
//	  - kind: required_fields       # fields a metric must state
//	    fields: [description, owner]
//
// `koujing validate` checks them, and governance refuses a change request whose definitions
// break a rule of severity error; warnings are attached to the request.

// NamingRulesFile is the name of the file, at the root of a definitions directory, that holds
// its naming conventions.
const NamingRulesFile = "naming.yaml"

// NamingRuleKind is what a naming rule checks.
type NamingRuleKind string

// The kinds of naming rules.
const (
	RuleSnakeCase      NamingRuleKind = "snake_case"
	RuleMaxLength      NamingRuleKind = "max_length"
	RuleForbiddenWords NamingRuleKind = "forbidden_words"
	RuleUnitSuffix     NamingRuleKind = "unit_suffix"
	RuleRequiredFields NamingRuleKind = "required_fields"
)

var (
	namingRuleKinds = []string{string(RuleSnakeCase), string(RuleMaxLength), string(RuleForbiddenWords), string(RuleUnitSuffix), string(RuleRequiredFields)}
	namingRuleKeys  = []string{"name", "kind", "severity", "applies_to", "max", "words", "units", "fields"}
	namingTargets   = []string{"metric", "dimension", "measure", "model"}
	requirableField = []string{"label", "description", "unit", "format", "owner", "domain", "category", "steward"}
)

// Severity says what breaking a rule does.
type Severity string

// The severities of a naming rule.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// NamingRule is one naming convention.
type NamingRule struct {
	// Name names the rule in what it reports; its kind when the file gives none.
	Name     string
	Kind     NamingRuleKind
	Severity Severity
	// AppliesTo lists the kinds of definitions whose names the rule checks: metric, dimension,
	// measure, model. unit_suffix and required_fields check metrics only.
	AppliesTo []string
	// Max is max_length's limit, in characters.
	Max int
	// Words are forbidden_words's words, lower case.
	Words []string
	// Units maps each unit to the suffixes a metric's name in it may end with (unit_suffix).
	Units map[string][]string
	// Fields are the fields required_fields requires.
	Fields []string
	Pos    Pos
}

// NamingRules are a definitions directory's naming conventions. The zero value has none.
type NamingRules struct {
	Rules []NamingRule
}

// LintFinding is a definition that breaks a naming rule.
type LintFinding struct {
	// Pos is where the definition is.
	Pos      Pos
	Rule     string
	Severity Severity
	// Subject is what breaks the rule: "metric gmv_tmp", "dimension region"; Source is the
	// data model of a model, dimension or measure.
	Subject string
	Source  string
	Message string
}

// String returns "file:line:col: severity: rule: message".
func (f LintFinding) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", f.Pos, f.Severity, f.Rule, f.Message)
}

// LintFindings are what a lint found, sorted by place.
type LintFindings []LintFinding

// Errors returns the findings of severity error.
func (fs LintFindings) Errors() LintFindings { return fs.of(SeverityError) }

// Warnings returns the findings of severity warning.
func (fs LintFindings) Warnings() LintFindings { return fs.of(SeverityWarning) }

func (fs LintFindings) of(s Severity) LintFindings {
	var out LintFindings
	for _, f := range fs {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// String lists the findings, one a line.
func (fs LintFindings) String() string {
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// ReadNamingRules reads the naming conventions of a definitions directory: its naming.yaml, or
// none when it has no such file. A file that is not well formed gives Problems with the line and
// column of each mistake.
func ReadNamingRules(fsys fs.FS) (*NamingRules, error) {
	data, err := fs.ReadFile(fsys, NamingRulesFile)
	if errors.Is(err, fs.ErrNotExist) {
		return &NamingRules{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read naming rules: %w", err)
	}
	return ParseNamingRules(NamingRulesFile, data)
}

// ParseNamingRules reads naming conventions written as naming.yaml is; file names the text in
// problems.
func ParseNamingRules(file string, data []byte) (*NamingRules, error) {
	var p Problems
	at := func(n *yaml.Node) Pos { return Pos{File: file, Line: n.Line, Col: n.Column} }
	report := func(n *yaml.Node, hint, format string, args ...any) {
		p = append(p, Problem{Pos: at(n), Message: fmt.Sprintf(format, args...), Hint: hint})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, Problems{{Pos: Pos{File: file, Line: line, Col: 1}, Message: "not YAML: " + err.Error()}}
	}
	rules := &NamingRules{}
	if len(doc.Content) == 0 {
		return rules, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode || len(top.Content) != 2 || top.Content[0].Value != "rules" || top.Content[1].Kind != yaml.SequenceNode {
		return nil, Problems{{Pos: at(top), Message: "naming rules are a mapping with one key, rules, holding a list of rules", Hint: "rules: [{kind: snake_case}]"}}
	}
	names := map[string]bool{}
	for _, rn := range top.Content[1].Content {
		if rn.Kind != yaml.MappingNode {
			report(rn, "write kind: snake_case and the rule's settings", "a naming rule is a mapping")
			continue
		}
		r := NamingRule{Severity: SeverityError, AppliesTo: namingTargets, Pos: at(rn)}
		fields := map[string]*yaml.Node{}
		for i := 0; i+1 < len(rn.Content); i += 2 {
			k, v := rn.Content[i], rn.Content[i+1]
			if !slices.Contains(namingRuleKeys, k.Value) {
				report(k, suggestion(k.Value, namingRuleKeys, "the keys are"), "unknown key %q in a naming rule", k.Value)
				continue
			}
			fields[k.Value] = v
		}
		scalar := func(key string) (string, *yaml.Node) {
			n := fields[key]
			if n == nil {
				return "", nil
			}
			if n.Kind != yaml.ScalarNode {
				report(n, "", "%s of a naming rule is not text", key)
				return "", nil
			}
			return n.Value, n
		}
		list := func(key string) ([]string, *yaml.Node) {
			n := fields[key]
			if n == nil {
				return nil, nil
			}
			if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
				report(n, fmt.Sprintf("write %s: [a, b]", key), "%s of a naming rule is not a list of text", key)
				return nil, nil
			}
			var out []string
			for _, c := range n.Content {
				if c.Kind != yaml.ScalarNode || c.Value == "" {
					report(c, "", "an item of %s is not text", key)
					continue
				}
				out = append(out, c.Value)
			}
			return out, n
		}
		kind, kn := scalar("kind")
		switch {
		case kn == nil:
			report(rn, "the kinds are "+strings.Join(namingRuleKinds, ", "), "a naming rule has no kind")
			continue
		case !slices.Contains(namingRuleKinds, kind):
			report(kn, suggestion(kind, namingRuleKinds, "the kinds are"), "unknown kind of naming rule %q", kind)
			continue
		}
		r.Kind = NamingRuleKind(kind)
		r.Name = kind
		if name, nn := scalar("name"); nn != nil {
			r.Name = name
		}
		if names[r.Name] {
			report(rn, "give each rule of the same kind a name of its own", "naming rule %q is defined twice", r.Name)
		}
		names[r.Name] = true
		if s, sn := scalar("severity"); sn != nil {
			if s != string(SeverityError) && s != string(SeverityWarning) {
				report(sn, "write error or warning", "unknown severity %q of naming rule %s", s, r.Name)
			}
			r.Severity = Severity(s)
		}
		if targets, tn := list("applies_to"); tn != nil {
			r.AppliesTo = nil
			for i, t := range targets {
				if !slices.Contains(namingTargets, t) {
					report(tn.Content[i], suggestion(t, namingTargets, "rules apply to"), "naming rule %s applies to unknown %q", r.Name, t)
					continue
				}
				r.AppliesTo = append(r.AppliesTo, t)
			}
		}
		if r.Kind == RuleUnitSuffix || r.Kind == RuleRequiredFields {
			r.AppliesTo = []string{"metric"}
		}
		// Each kind's setting, required by it and refused by the others.
		setting := map[NamingRuleKind]string{RuleMaxLength: "max", RuleForbiddenWords: "words", RuleUnitSuffix: "units", RuleRequiredFields: "fields"}
		for key, n := range fields {
			if slices.Contains([]string{"max", "words", "units", "fields"}, key) && setting[r.Kind] != key {
				report(n, "remove it", "%s does not apply to a %s rule", key, r.Kind)
			}
		}
		if want := setting[r.Kind]; want != "" && fields[want] == nil {
			report(rn, "", "a %s rule needs %s", r.Kind, want)
			continue
		}
		switch r.Kind {
		case RuleMaxLength:
			v, vn := scalar("max")
			n, err := strconv.Atoi(v)
			if vn != nil && (err != nil || n < 1) {
				report(vn, "write a whole number of characters, such as 40", "max of naming rule %s is not a positive whole number: %q", r.Name, v)
			}
			r.Max = n
		case RuleForbiddenWords:
			words, _ := list("words")
			for _, w := range words {
				r.Words = append(r.Words, strings.ToLower(w))
			}
		case RuleRequiredFields:
			fs, fn := list("fields")
			for i, f := range fs {
				if !slices.Contains(requirableField, f) {
					report(fn.Content[i], suggestion(f, requirableField, "the fields are"), "naming rule %s requires unknown field %q", r.Name, f)
				}
			}
			r.Fields = fs
		case RuleUnitSuffix:
			un := fields["units"]
			if un.Kind != yaml.MappingNode || len(un.Content) == 0 {
				report(un, "write units: {CNY: [_amount]}", "units of naming rule %s is not a mapping of units to suffixes", r.Name)
				break
			}
			r.Units = map[string][]string{}
			for i := 0; i+1 < len(un.Content); i += 2 {
				k, v := un.Content[i], un.Content[i+1]
				if v.Kind == yaml.ScalarNode && v.Value != "" {
					r.Units[k.Value] = []string{v.Value}
					continue
				}
				if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
					report(v, "write CNY: [_amount, _gmv]", "the suffixes of unit %s are not a list of text", k.Value)
					continue
				}
				for _, s := range v.Content {
					r.Units[k.Value] = append(r.Units[k.Value], s.Value)
				}
			}
		}
		rules.Rules = append(rules.Rules, r)
	}
	if len(p) > 0 {
		sortProblems(p)
		return nil, p
	}
	return rules, nil
}

// snakeCaseName is a name of lower-case words and digits joined by single underscores, starting
// with a letter.
var snakeCaseName = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// lintSubject is one definition a lint reads.
type lintSubject struct {
	target string // metric, dimension, measure, model
	name   string
	model  string
	pos    Pos
	metric *Metric
}

// Lint checks the names of every definition of the catalog against the rules.
func (r *NamingRules) Lint(cat *Catalog) LintFindings {
	return r.LintOnly(cat, nil)
}

// LintOnly checks the definitions of the catalog that keep says to (every one when keep is nil):
// a metric by store key "metric:name", a model's dimensions and measures with the model, by
// "model:name".
func (r *NamingRules) LintOnly(cat *Catalog, keep func(key string) bool) LintFindings {
	if r == nil || len(r.Rules) == 0 {
		return nil
	}
	var subjects []lintSubject
	for _, m := range cat.models {
		if keep != nil && !keep("model:"+m.Name) {
			continue
		}
		subjects = append(subjects, lintSubject{target: "model", name: m.Name, model: m.Name, pos: m.Pos})
		for _, d := range m.Dimensions {
			subjects = append(subjects, lintSubject{target: "dimension", name: d.Name, model: m.Name, pos: d.Pos})
		}
		for _, x := range m.Measures {
			subjects = append(subjects, lintSubject{target: "measure", name: x.Name, model: m.Name, pos: x.Pos})
		}
	}
	for _, m := range cat.metrics {
		if keep == nil || keep("metric:"+m.Name) {
			subjects = append(subjects, lintSubject{target: "metric", name: m.Name, pos: m.Pos, metric: m})
		}
	}
	var out LintFindings
	for _, s := range subjects {
		for i := range r.Rules {
			rule := &r.Rules[i]
			if !slices.Contains(rule.AppliesTo, s.target) {
				continue
			}
			if msg := rule.check(s); msg != "" {
				out = append(out, LintFinding{Pos: s.pos, Rule: rule.Name, Severity: rule.Severity, Subject: s.target + " " + s.name, Source: s.model, Message: msg})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return posBefore(out[i].Pos, out[j].Pos) })
	return out
}

// check returns what is wrong with a subject under the rule, or "".
func (rule *NamingRule) check(s lintSubject) string {
	what := s.target + " " + s.name
	switch rule.Kind {
	case RuleSnakeCase:
		if !snakeCaseName.MatchString(s.name) {
			return fmt.Sprintf("%s is not snake_case; write lower-case words joined by single underscores, such as %s", what, snakeCase(s.name))
		}
	case RuleMaxLength:
		if n := utf8.RuneCountInString(s.name); n > rule.Max {
			return fmt.Sprintf("%s is %d characters long, more than %d; shorten it", what, n, rule.Max)
		}
	case RuleForbiddenWords:
		for _, w := range strings.Split(strings.ToLower(s.name), "_") {
			if slices.Contains(rule.Words, w) {
				return fmt.Sprintf("%s holds the forbidden word %q; name what it counts instead", what, w)
			}
		}
	case RuleUnitSuffix:
		suffixes, ok := rule.Units[s.metric.Unit]
		if ok && !slices.ContainsFunc(suffixes, func(x string) bool { return strings.HasSuffix(s.name, x) }) {
			return fmt.Sprintf("%s is in %s, so its name ends with %s", what, s.metric.Unit, strings.Join(suffixes, " or "))
		}
	case RuleRequiredFields:
		var missing []string
		for _, f := range rule.Fields {
			if metricField(s.metric, f) == "" {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("%s does not state its %s", what, strings.Join(missing, ", "))
		}
	}
	return ""
}

// metricField returns the value of one of a metric's text fields by its key in the YAML.
func metricField(m *Metric, key string) string {
	switch key {
	case "label":
		return m.Label
	case "description":
		return m.Description
	case "unit":
		return m.Unit
	case "format":
		return m.Format
	case "owner":
		return m.Owner
	case "domain":
		return m.Domain
	case "category":
		return m.Category
	case "steward":
		return m.Steward
	}
	return ""
}
