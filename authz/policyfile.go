package authz

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// A policy file holds rules one per line, in Casbin's CSV policy format: fields separated by
// commas, a field with a comma or a quote in double quotes (a quote inside doubled), and lines
// starting with # ignored. Besides the rules it may hold API keys, one per line:
//
//	api_key, TENANT, ID, NAME, ROLES, SHA256, CREATED_AT, CREATED_BY, REVOKED_AT
//
// with ROLES separated by spaces, SHA256 in hex, times in RFC 3339 and REVOKED_AT empty while the
// key is valid.
const apiKeyKind = "api_key"

// PolicyFileError lists every problem of a policy file, each at its line.
type PolicyFileError struct {
	File     string
	Problems []LineProblem
}

// LineProblem is one problem of a policy file.
type LineProblem struct {
	Line int
	Msg  string
}

func (e *PolicyFileError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s:%d: %s", e.File, p.Line, p.Msg)
	}
	return b.String()
}

// ParsePolicyFile reads a policy file's rules and API keys. name is the file's name, for
// messages. Every problem is reported, each with its line, in a *PolicyFileError.
func ParsePolicyFile(name string, data []byte) (*State, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	st := &State{}
	perr := &PolicyFileError{File: name}
	seen := map[string]int{}
	for {
		fields, err := r.Read()
		if err == io.EOF {
			break
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			perr.Problems = append(perr.Problems, LineProblem{Line: parseErr.Line, Msg: parseErr.Err.Error()})
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue
		}
		if strings.TrimSpace(fields[0]) == apiKeyKind {
			k, err := parseAPIKeyLine(fields)
			if err != nil {
				perr.Problems = append(perr.Problems, LineProblem{Line: line, Msg: err.Error()})
				continue
			}
			st.Keys = append(st.Keys, k)
			continue
		}
		rule, err := ParseRule(fields)
		if err != nil {
			perr.Problems = append(perr.Problems, LineProblem{Line: line, Msg: err.Error()})
			continue
		}
		rule.Line = line
		if first, dup := seen[rule.Key()]; dup {
			perr.Problems = append(perr.Problems, LineProblem{Line: line, Msg: fmt.Sprintf("the rule repeats line %d", first)})
			continue
		}
		seen[rule.Key()] = line
		st.Rules = append(st.Rules, rule)
	}
	if len(perr.Problems) > 0 {
		return nil, perr
	}
	return st, nil
}

func parseAPIKeyLine(fields []string) (APIKey, error) {
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	if len(fields) != 9 {
		return APIKey{}, fmt.Errorf("an api_key line has 9 fields (api_key, TENANT, ID, NAME, ROLES, SHA256, CREATED_AT, CREATED_BY, REVOKED_AT), not %d", len(fields))
	}
	k := APIKey{Tenant: fields[1], ID: fields[2], Name: fields[3], Roles: strings.Fields(fields[4]), CreatedBy: fields[7]}
	if err := checkName("tenant", k.Tenant, false); err != nil {
		return k, err
	}
	if k.ID == "" {
		return k, fmt.Errorf("the api key has no ID")
	}
	h, err := hex.DecodeString(fields[5])
	if err != nil || len(h) != 32 {
		return k, fmt.Errorf("the api key's SHA256 is not 64 hex digits")
	}
	k.Hash = h
	if k.CreatedAt, err = time.Parse(time.RFC3339Nano, fields[6]); err != nil {
		return k, fmt.Errorf("the api key's CREATED_AT %q is not an RFC 3339 time", fields[6])
	}
	if fields[8] != "" {
		if k.RevokedAt, err = time.Parse(time.RFC3339Nano, fields[8]); err != nil {
			return k, fmt.Errorf("the api key's REVOKED_AT %q is not an RFC 3339 time", fields[8])
		}
	}
	return k, nil
}

// apiKeyFields returns a key as the fields of its line in a policy file.
func apiKeyFields(k APIKey) []string {
	revoked := ""
	if k.Revoked() {
		revoked = k.RevokedAt.UTC().Format(time.RFC3339Nano)
	}
	return []string{apiKeyKind, k.Tenant, k.ID, k.Name, strings.Join(k.Roles, " "), hex.EncodeToString(k.Hash),
		k.CreatedAt.UTC().Format(time.RFC3339Nano), k.CreatedBy, revoked}
}

// FormatAPIKeyLine is the key's line in a policy file.
func FormatAPIKeyLine(k APIKey) string { return formatCSVLine(apiKeyFields(k)) }

// formatCSVLine writes fields as one line of a policy file, separated by ", ", quoting the
// fields that need it so that ParsePolicyFile reads them back unchanged.
func formatCSVLine(fields []string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		if f == "" || strings.ContainsAny(f, ",\"\r\n#") || strings.TrimSpace(f) != f {
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(f, `"`, `""`))
			b.WriteByte('"')
			continue
		}
		b.WriteString(f)
	}
	return b.String()
}
