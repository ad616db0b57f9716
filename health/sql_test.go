package health_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the driver the reference CLI bundles
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/internal/servicetest"
)

// fakeDriver is a database/sql driver for the edge cases: its DSN is a URL
// whose query says how it behaves (?ping=fail, ?answer=…). Like some real
// drivers, its connection error repeats the DSN, password and all.
type fakeDriver struct{}

type fakeConn struct{ q url.Values }

func (fakeDriver) Open(dsn string) (driver.Conn, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	if u.Query().Get("open") == "fail" {
		return nil, fmt.Errorf("cannot connect with %s: server closed the connection", dsn)
	}
	return &fakeConn{q: u.Query()}, nil
}

func (c *fakeConn) Ping(ctx context.Context) error {
	if c.q.Get("ping") == "fail" {
		return errors.New("the database system is starting up")
	}
	return nil
}
func (c *fakeConn) Prepare(query string) (driver.Stmt, error) {
	return &fakeStmt{c: c, query: query}, nil
}
func (c *fakeConn) Close() error              { return nil }
func (c *fakeConn) Begin() (driver.Tx, error) { return nil, errors.New("no transactions") }

type fakeStmt struct {
	c     *fakeConn
	query string
}

func (s *fakeStmt) Close() error                               { return nil }
func (s *fakeStmt) NumInput() int                              { return -1 }
func (s *fakeStmt) Exec([]driver.Value) (driver.Result, error) { return nil, errors.New("no exec") }
func (s *fakeStmt) Query([]driver.Value) (driver.Rows, error) {
	if strings.Contains(s.query, "missing_table") {
		return nil, errors.New(`relation "missing_table" does not exist`)
	}
	return &fakeRows{v: s.c.q.Get("answer")}, nil
}

type fakeRows struct {
	v    string
	done bool
}

func (r *fakeRows) Columns() []string { return []string{"answer"} }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = []byte(r.v)
	return nil
}

func init() { sql.Register("shipprodfake", fakeDriver{}) }

func TestSQLCheck(t *testing.T) {
	const password = "hunter2-sql"
	dsn := func(q string) string { return "fake://app:" + password + "@db.internal:5432/shop?" + q }
	tests := []struct {
		name  string
		cfg   health.SQLConfig
		ok    bool
		inMsg string
	}{
		{"ping", health.SQLConfig{DSN: dsn("")}, true, "ping ok"},
		{"query and expected answer", health.SQLConfig{DSN: dsn("answer=1"), Query: "SELECT 1", Expect: "1"}, true, "ping ok; SELECT 1 → 1"},
		{"unexpected answer", health.SQLConfig{DSN: dsn("answer=0"), Query: "SELECT count(*) FROM ready", Expect: "1"}, false,
			`query "SELECT count(*) FROM ready" returned "0", want "1"`},
		{"query error", health.SQLConfig{DSN: dsn(""), Query: "SELECT * FROM missing_table"}, false, `relation "missing_table" does not exist`},
		{"ping fails", health.SQLConfig{DSN: dsn("ping=fail")}, false, "ping: the database system is starting up"},
		{"connect error repeating the DSN", health.SQLConfig{DSN: dsn("open=fail")}, false, "ping: cannot connect with ***: server closed the connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Driver = "shipprodfake"
			res := checkOne(t, health.CheckConfig{Name: "db", SQL: &tt.cfg}, "")
			assert.Equal(t, "sql", res.Kind)
			assert.Equal(t, "fake://db.internal:5432/shop", res.Target)
			if tt.ok {
				assert.Equal(t, shipprod.HealthPass, res.Status, res.Error)
				assert.Equal(t, tt.inMsg, res.Message)
			} else {
				assert.Equal(t, shipprod.HealthFail, res.Status)
				assert.Contains(t, res.Error, tt.inMsg)
			}
			assert.NotContains(t, res.Error+res.Message+res.Target, password)
		})
	}
}

// TestSQLCheckPostgres runs against a real PostgreSQL through pgx's
// database/sql driver.
func TestSQLCheckPostgres(t *testing.T) {
	dsn := servicetest.Require(t, "a PostgreSQL server", "SHIPPROD_TEST_POSTGRES_DSN")[0]
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	password, _ := u.User.Password()
	require.NotEmpty(t, password, "SHIPPROD_TEST_POSTGRES_DSN should hold a password, to test that it is masked")

	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "not-"+password)
	env := map[string]string{"PG_DSN": dsn, "PG_WRONG": wrong.String()}
	c := newChecker(t, health.Config{Checks: []health.CheckConfig{
		{Name: "db", SQL: &health.SQLConfig{Driver: "pgx", DSNEnv: "PG_DSN", Query: "SELECT 1", Expect: "1"}},
		{Name: "db-version", SQL: &health.SQLConfig{Driver: "pgx", DSNEnv: "PG_DSN", Query: "SELECT current_setting('server_version_num')::int >= 150000", Expect: "true"}},
		{Name: "db-wrong-password", SQL: &health.SQLConfig{Driver: "pgx", DSNEnv: "PG_WRONG"}},
		{Name: "db-missing-table", SQL: &health.SQLConfig{Driver: "pgx", DSNEnv: "PG_DSN", Query: "SELECT count(*) FROM shipprod_no_such_table"}},
	}}, health.Options{Getenv: func(k string) string { return env[k] }})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	byName := map[string]shipprod.CheckResult{}
	for _, r := range rep.Checks {
		byName[r.Name] = r
		assert.NotContains(t, r.Error+r.Message+r.Target, password, "check %s leaks the password", r.Name)
	}
	assert.Equal(t, shipprod.HealthPass, byName["db"].Status, byName["db"].Error)
	assert.Equal(t, "ping ok; SELECT 1 → 1", byName["db"].Message)
	assert.Equal(t, shipprod.HealthPass, byName["db-version"].Status, byName["db-version"].Error)
	assert.Equal(t, shipprod.HealthFail, byName["db-wrong-password"].Status)
	assert.Contains(t, byName["db-wrong-password"].Error, "password authentication failed")
	assert.Equal(t, shipprod.HealthFail, byName["db-missing-table"].Status)
	assert.Contains(t, byName["db-missing-table"].Error, `relation "shipprod_no_such_table" does not exist`)
}
