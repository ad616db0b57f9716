package health

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// sqlProbe pings a database through database/sql and optionally runs a query.
type sqlProbe struct {
	driver string
	dsn    string
	target string // the DSN with its password masked
	query  string
	expect string
}

func newSQLProbe(c SQLConfig, getenv func(string) string) (*sqlProbe, []string, error) {
	p := &sqlProbe{driver: strings.TrimSpace(c.Driver), query: strings.TrimSpace(c.Query), expect: c.Expect}
	var problems []string
	switch {
	case c.DSN != "" && c.DSNEnv != "":
		problems = append(problems, "sql: set dsn or dsn_env, not both")
	case c.DSNEnv != "":
		p.dsn = getenv(c.DSNEnv)
		if p.dsn == "" {
			problems = append(problems, fmt.Sprintf("sql.dsn_env: environment variable %s is empty or unset", c.DSNEnv))
		}
	case c.DSN != "":
		p.dsn = c.DSN
	default:
		problems = append(problems, "sql: set dsn_env (the environment variable holding the DSN) or dsn")
	}
	secrets := []string{p.dsn}
	switch {
	case p.driver == "":
		problems = append(problems, `sql.driver is missing (e.g. "pgx" after importing github.com/jackc/pgx/v5/stdlib)`)
	case !sqlDriverRegistered(p.driver):
		known := sql.Drivers()
		sort.Strings(known)
		problems = append(problems, fmt.Sprintf("sql.driver %q is not registered in this program (registered: %s); blank-import its package, e.g. _ \"github.com/jackc/pgx/v5/stdlib\" for \"pgx\"", p.driver, orNone(known)))
	}
	if p.expect != "" && p.query == "" {
		problems = append(problems, "sql.expect needs sql.query")
	}
	p.target = describeDSN(p.driver, p.dsn)
	if len(problems) > 0 {
		return nil, secrets, errors.New(strings.Join(problems, "; "))
	}
	return p, secrets, nil
}

// describeDSN says where a DSN points without saying anything secret: the
// scheme, host and path of a URL, or the host, port and dbname of key=value.
func describeDSN(driver, dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		return fmt.Sprintf("%s://%s%s", u.Scheme, u.Host, u.Path)
	}
	var parts []string
	for _, f := range strings.Fields(dsn) {
		k, v, ok := strings.Cut(f, "=")
		if ok && (k == "host" || k == "port" || k == "dbname") {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) > 0 {
		return driver + " " + strings.Join(parts, " ")
	}
	return driver + " database"
}

func (p *sqlProbe) describe() string {
	d := "ping " + p.target
	if p.query != "" {
		d += fmt.Sprintf(" and run %q", p.query)
		if p.expect != "" {
			d += fmt.Sprintf(" expecting %q", p.expect)
		}
	}
	return d
}

// Secrets returns the DSN.
func (p *sqlProbe) Secrets() []string { return []string{p.dsn} }

// Probe opens a fresh connection for every attempt: what is checked is that
// production can connect now, not that an old connection survived.
func (p *sqlProbe) Probe(ctx context.Context, _ Target) (Observation, error) {
	db, err := sql.Open(p.driver, p.dsn)
	if err != nil {
		return Observation{}, fmt.Errorf("opening %s: %w", p.target, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		return Observation{}, fmt.Errorf("ping: %w", err)
	}
	if p.query == "" {
		return Observation{Message: "ping ok"}, nil
	}
	var got any
	if err := db.QueryRowContext(ctx, p.query).Scan(&got); err != nil {
		return Observation{}, fmt.Errorf("query %q: %w", p.query, err)
	}
	text := sqlText(got)
	if p.expect != "" && text != p.expect {
		return Observation{}, fmt.Errorf("query %q returned %q, want %q", p.query, text, p.expect)
	}
	return Observation{Message: fmt.Sprintf("ping ok; %s → %s", p.query, text)}, nil
}

func sqlText(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}
