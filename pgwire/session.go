package pgwire

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// session is a connection's settings: who it is, where names are looked up, and the time zone
// its times are read and shown in — which is the zone of every metric query it asks.
type session struct {
	user       string
	database   string
	searchPath []string
	// searchPathSet is set once the client sets search_path itself.
	searchPathSet bool
	timezone      string
	// location is timezone loaded, once when it is set rather than on every query.
	location         *time.Location
	statementTimeout time.Duration
	// settings holds what SET changed besides the fields above, by lower-case name.
	settings map[string]string
	// limit is the largest LIMIT passed on to the semantic layer; zero means the default.
	limit int64
}

func (s *session) maxLimit() int64 {
	if s.limit <= 0 {
		return defaultMaxLimit
	}
	return s.limit
}

// resetTimeZone makes tz, the server's time zone, the session's; a zone that does not load reads
// times in UTC.
func (s *session) resetTimeZone(tz string) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	s.timezone, s.location = tz, loc
}

func newSession(user string, params map[string]string, timezone string) *session {
	s := &session{user: user, database: params["database"], settings: map[string]string{}}
	s.resetTimeZone(timezone)
	if s.database == "" {
		s.database = user
	}
	for k, v := range params {
		switch strings.ToLower(k) {
		case "user", "database", "options", "replication":
		default:
			_ = s.set(k, v) // a startup setting the SQL API cannot apply is ignored, as most are
		}
	}
	// options: -c name=value … (what PGOPTIONS sets).
	for _, opt := range strings.Fields(params["options"]) {
		if name, value, ok := strings.Cut(strings.TrimPrefix(opt, "--"), "="); ok && opt != "-c" {
			_ = s.set(strings.ReplaceAll(name, "-", "_"), value)
		}
	}
	return s
}

// defaultSearchPath puts every schema the principal sees on the search path, unless the client
// chose one, so that bare table names and \dt find the tables.
func (s *session) defaultSearchPath(rel *relations) {
	if s.searchPathSet {
		return
	}
	s.searchPath = nil
	for _, sc := range rel.schemas {
		s.searchPath = append(s.searchPath, sc.name)
	}
}

// show returns a setting's value as SHOW prints it.
func (s *session) show(name string) string {
	switch strings.ToLower(name) {
	case "server_version":
		return serverVersion
	case "server_version_num":
		return "150000"
	case "timezone":
		return s.timezone
	case "search_path":
		parts := make([]string, len(s.searchPath))
		for i, p := range s.searchPath {
			parts[i] = quoteIdent(p)
		}
		return strings.Join(parts, ", ")
	case "statement_timeout":
		if s.statementTimeout == 0 {
			return "0"
		}
		return fmt.Sprintf("%dms", s.statementTimeout.Milliseconds())
	case "session_authorization", "current_user":
		return s.user
	case "is_superuser":
		return "off"
	case "server_encoding", "client_encoding":
		return "UTF8"
	case "datestyle":
		return "ISO, MDY"
	case "intervalstyle":
		return "postgres"
	case "integer_datetimes", "standard_conforming_strings":
		return "on"
	case "transaction_isolation", "default_transaction_isolation":
		return "read committed"
	case "transaction_read_only", "default_transaction_read_only":
		return "on"
	case "max_identifier_length":
		return "63"
	}
	if v, ok := s.settings[strings.ToLower(name)]; ok {
		return v
	}
	if st, ok := staticSettings()[strings.ToLower(name)]; ok {
		return st.setting
	}
	return ""
}

// known reports whether SHOW knows the setting.
func (s *session) known(name string) bool {
	if s.show(name) != "" {
		return true
	}
	_, ok := staticSettings()[strings.ToLower(name)]
	return ok
}

// set applies SET name = value. The time zone, search path and statement timeout change what
// queries do; client_encoding must stay UTF8; other settings are kept for SHOW and otherwise
// ignored, as they change nothing the semantic layer computes.
func (s *session) set(name, value string) error {
	lname := strings.ToLower(name)
	switch lname {
	case "timezone", "time zone":
		tz := strings.Trim(value, `'"`)
		if strings.EqualFold(tz, "local") || strings.EqualFold(tz, "default") {
			tz = "UTC"
		}
		if off, err := strconv.Atoi(tz); err == nil {
			// SET TIME ZONE 8 means UTC+8, which POSIX zones write as Etc/GMT-8.
			tz = fmt.Sprintf("Etc/GMT%+d", -off)
			if off == 0 {
				tz = "UTC"
			}
		}
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "" {
			return errorf(codeInvalidParameter, "invalid value for parameter \"TimeZone\": %q", value).
				withHint("use an IANA name such as Asia/Shanghai or UTC")
		}
		s.timezone, s.location = tz, loc
		return nil
	case "search_path":
		s.searchPath = nil
		for _, p := range strings.Split(value, ",") {
			p = strings.TrimSpace(p)
			if strings.HasPrefix(p, `"`) {
				p = strings.ReplaceAll(strings.Trim(p, `"`), `""`, `"`)
			} else {
				p = strings.ToLower(p)
			}
			if p != "" {
				s.searchPath = append(s.searchPath, p)
			}
		}
		s.searchPathSet = true
		return nil
	case "statement_timeout":
		d, err := parseDurationSetting(value)
		if err != nil {
			return errorf(codeInvalidParameter, "invalid value for parameter \"statement_timeout\": %q", value)
		}
		s.statementTimeout = d
		return nil
	case "client_encoding":
		v := strings.ToUpper(strings.ReplaceAll(strings.Trim(value, `'`), "-", ""))
		if v != "UTF8" && v != "UNICODE" {
			return errorf(codeFeatureNotSupported, "client_encoding %s is not supported", value).withHint("use UTF8")
		}
		return nil
	}
	s.settings[lname] = value
	return nil
}

// parseDurationSetting reads a PostgreSQL time setting: milliseconds by default, or with a unit.
func parseDurationSetting(v string) (time.Duration, error) {
	v = strings.Trim(strings.TrimSpace(v), `'`)
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(ms) * time.Millisecond, nil
	}
	units := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	for _, u := range []string{"min", "ms", "us", "s", "h", "d"} {
		if n, ok := strings.CutSuffix(v, u); ok {
			x, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
			if err != nil {
				return 0, err
			}
			return time.Duration(x * float64(units[u])), nil
		}
	}
	return 0, fmt.Errorf("not a duration: %q", v)
}
