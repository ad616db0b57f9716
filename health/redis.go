package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redisProbe checks a Redis server with github.com/redis/go-redis/v9: the
// client authenticates (HELLO … AUTH, or AUTH on servers before Redis 6),
// selects the database and sends PING. A fresh connection per attempt
// checks that clients can connect now.
type redisProbe struct {
	addr     string
	username string
	password string
	db       int
	tls      *tls.Config
}

func newRedisProbe(c RedisConfig, getenv func(string) string) (*redisProbe, []string, error) {
	p := &redisProbe{addr: strings.TrimSpace(c.Addr), username: c.Username, db: c.DB}
	var problems []string
	if _, _, err := net.SplitHostPort(p.addr); err != nil {
		problems = append(problems, fmt.Sprintf("redis.addr %q is not host:port", c.Addr))
	}
	if c.PasswordEnv != "" {
		p.password = getenv(c.PasswordEnv)
		if p.password == "" {
			problems = append(problems, fmt.Sprintf("redis.password_env: environment variable %s is empty or unset", c.PasswordEnv))
		}
	}
	if c.Username != "" && c.PasswordEnv == "" {
		problems = append(problems, "redis.username needs redis.password_env")
	}
	if c.DB < 0 {
		problems = append(problems, "redis.db must not be negative")
	}
	if c.TLS.Enabled {
		cfg, err := tlsConfig(c.TLS, p.addr)
		if err != nil {
			problems = append(problems, "redis.tls: "+err.Error())
		}
		p.tls = cfg
	} else if c.TLS.CAFile != "" || c.TLS.ServerName != "" || c.TLS.InsecureSkipVerify {
		problems = append(problems, "redis.tls settings need redis.tls.enabled: true")
	}
	secrets := []string{p.password}
	if len(problems) > 0 {
		return nil, secrets, errors.New(strings.Join(problems, "; "))
	}
	return p, secrets, nil
}

func tlsConfig(c TLSConfig, addr string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Secrets returns the password.
func (p *redisProbe) Secrets() []string { return []string{p.password} }

func (p *redisProbe) describe() string {
	d := "PING redis at " + p.addr
	if p.tls != nil {
		d += " over TLS"
	}
	if p.password != "" {
		d += " with AUTH"
	}
	return d
}

// Probe connects, then lets go-redis authenticate, select the database and
// PING on that one connection, within ctx.
//
// The probe dials (and makes the TLS handshake) itself and hands go-redis
// the open connection. go-redis reports a failed dial on its logger, which
// is package-global (redis.SetLogger; its Options have no logger) and
// prints to stderr by default: a library must neither print nor change its
// importer's go-redis logging, and a failed dial here is the check's result,
// reported in the health report. Dialing first keeps go-redis off that path.
func (p *redisProbe) Probe(ctx context.Context, _ Target) (Observation, error) {
	start := time.Now()
	conn, err := p.dial(ctx)
	if err != nil {
		return Observation{}, err
	}
	handOver := &firstConn{conn: conn, dial: p.dial}
	client := redis.NewClient(p.options(handOver.dialer))
	defer func() {
		_ = client.Close()
		handOver.closeUnused()
	}()
	reply, err := client.Ping(ctx).Result()
	if err != nil {
		// go-redis authenticates and selects the database as it connects, and
		// returns the server's refusal as it is (WRONGPASS …, NOAUTH …, ERR
		// DB index is out of range) without naming the step.
		return Observation{}, fmt.Errorf("redis: %w", err)
	}
	if reply != "PONG" {
		return Observation{}, fmt.Errorf("PING answered %q, want PONG", reply)
	}
	return Observation{Message: fmt.Sprintf("PONG in %s", roundLatency(time.Since(start)))}, nil
}

// dial connects to the server and, with TLS, makes the handshake.
func (p *redisProbe) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if p.tls == nil {
		return conn, nil
	}
	tc := tls.Client(conn, p.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// options configure a client for one attempt: the connections come from
// dialer; no retries (the checker has its own attempts); one connection;
// timeouts from the context; and none of go-redis's extras a PING does not
// need (RESP3, CLIENT SETINFO, maintenance notifications).
func (p *redisProbe) options(dialer func(ctx context.Context, network, addr string) (net.Conn, error)) *redis.Options {
	return &redis.Options{
		Addr:                     p.addr,
		Username:                 p.username,
		Password:                 p.password,
		DB:                       p.db,
		Dialer:                   dialer,
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		ContextTimeoutEnabled:    true,
		MaxRetries:               -1,
		DialerRetries:            1,
		PoolSize:                 1,
	}
}

// firstConn hands go-redis the connection the probe dialed; were go-redis
// to ask for another, it is dialed the same way. A connection go-redis never
// took (ctx ended first) is closed by closeUnused.
type firstConn struct {
	mu   sync.Mutex
	conn net.Conn
	dial func(context.Context) (net.Conn, error)
}

func (f *firstConn) dialer(ctx context.Context, _, _ string) (net.Conn, error) {
	f.mu.Lock()
	conn := f.conn
	f.conn = nil
	f.mu.Unlock()
	if conn != nil {
		return conn, nil
	}
	return f.dial(ctx)
}

func (f *firstConn) closeUnused() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		_ = f.conn.Close()
		f.conn = nil
	}
}
