package semantic

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ConnectionOpener is implemented by schema resolvers that serve warehouse connections. The
// loader calls OpenConnection once for every connection the definitions declare, after reading
// them all and before resolving any model's source; an error is reported at the connection's
// definition, and models reading it are not checked further.
type ConnectionOpener interface {
	OpenConnection(ctx context.Context, c *Connection) error
}

// connectionDef is a connection being loaded, with the nodes problems point at.
type connectionDef struct {
	f        *defFile
	c        *Connection
	nameNode *yaml.Node
	ok       bool // the definition is complete and its URL resolved
	opened   bool
}

var connectionKeys = []string{"name", "description", "url", "url_env", "url_file", "pool_size", "statement_timeout"}

// defaultPoolSize is how many connections a warehouse gets when its definition does not say.
const defaultPoolSize = 8

func (l *loader) readConnection(f *defFile, n *yaml.Node) {
	m := l.object(f, n, named(n, "name", "connection ", "a connection"), "a mapping", connectionKeys)
	if m == nil {
		return
	}
	cd := &connectionDef{f: f, c: &Connection{Pos: f.pos(m.node), PoolSize: defaultPoolSize}}
	cd.c.Name, cd.nameNode = l.requireName(m, "connection")
	if cd.c.Name != "" {
		m.what = "connection " + cd.c.Name
	}
	if cd.c.Name == DemoConnection {
		l.report(f.pos(cd.nameNode), "", "connection name %q is reserved for the built-in demo; choose another", DemoConnection)
	}
	cd.ok = cd.c.Name != "" && cd.c.Name != DemoConnection
	url, urlNode := l.str(m, "url")
	env, envNode := l.str(m, "url_env")
	file, fileNode := l.str(m, "url_file")
	given := 0
	for _, x := range []*yaml.Node{urlNode, envNode, fileNode} {
		if x != nil {
			given++
		}
	}
	const hint = "give the URL in url_env (an environment variable), url_file (a file holding it) or url"
	switch {
	case given == 0:
		if !m.misspelt {
			l.report(f.pos(m.node), hint, "%s has no URL", m.what)
		}
		cd.ok = false
	case given > 1:
		l.report(f.pos(m.node), hint, "%s has more than one of url, url_env and url_file; give one", m.what)
		cd.ok = false
	case envNode != nil:
		cd.c.URL, cd.c.URLFrom = os.Getenv(env), "environment variable "+env
		if strings.TrimSpace(cd.c.URL) == "" {
			l.report(f.pos(envNode), "set it to a URL such as postgres://user@host:5432/db", "environment variable %s, the URL of %s, is not set", env, m.what)
			cd.ok = false
		}
	case fileNode != nil:
		path := file
		if l.fileBase != "" && !filepath.IsAbs(path) {
			path = filepath.Join(l.fileBase, path)
		}
		data, err := os.ReadFile(path)
		cd.c.URL, cd.c.URLFrom = strings.TrimSpace(string(data)), "file "+file
		switch {
		case err != nil:
			l.report(f.pos(fileNode), "", "cannot read the URL of %s: %v", m.what, err)
			cd.ok = false
		case cd.c.URL == "":
			l.report(f.pos(fileNode), "", "file %s, the URL of %s, is empty", file, m.what)
			cd.ok = false
		}
	default:
		cd.c.URL, cd.c.URLFrom = url, "its definition"
	}
	if s, n := l.str(m, "pool_size"); n != nil {
		size, err := strconv.ParseInt(s, 10, 32)
		if err != nil || size < 1 || size > 1000 {
			l.report(f.pos(n), "", "pool_size of %s must be a whole number from 1 to 1000, not %q", m.what, s)
			cd.ok = false
		} else {
			cd.c.PoolSize = int32(size)
		}
	}
	if s, n := l.str(m, "statement_timeout"); n != nil {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			l.report(f.pos(n), "write it as 30s, 2m or 1h", "statement_timeout of %s is not a duration: %q", m.what, s)
			cd.ok = false
		} else {
			cd.c.StatementTimeout = d
		}
	}
	l.connections = append(l.connections, cd)
}

// openConnections asks the resolver to open every well-formed connection.
func (l *loader) openConnections() error {
	opener, ok := l.resolver.(ConnectionOpener)
	for _, cd := range l.connections {
		if !cd.ok {
			continue
		}
		if !ok {
			l.report(cd.c.Pos, "", "connection %s cannot be used here: this loader serves no warehouses", cd.c.Name)
			continue
		}
		err := opener.OpenConnection(l.ctx, cd.c)
		if cerr := l.ctx.Err(); cerr != nil {
			return fmt.Errorf("load definitions: %w", cerr)
		}
		if err != nil {
			l.report(cd.c.Pos, "", "connection %s (URL from %s): %v", cd.c.Name, cd.c.URLFrom, err)
			continue
		}
		cd.opened = true
	}
	return nil
}
