package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// redisProbe speaks just enough RESP to authenticate, select a database and
// PING. A fresh connection per attempt checks that clients can connect now.
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

func (p *redisProbe) Probe(ctx context.Context, _ Target) (Observation, error) {
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return Observation{}, err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	// Unblock reads and writes when ctx ends without a deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if p.tls != nil {
		tc := tls.Client(conn, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return Observation{}, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	rw := bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn))
	if p.password != "" {
		args := []string{"AUTH", p.password}
		if p.username != "" {
			args = []string{"AUTH", p.username, p.password}
		}
		if _, err := redisDo(rw, args...); err != nil {
			return Observation{}, fmt.Errorf("AUTH: %w", err)
		}
	}
	if p.db != 0 {
		if _, err := redisDo(rw, "SELECT", strconv.Itoa(p.db)); err != nil {
			return Observation{}, fmt.Errorf("SELECT %d: %w", p.db, err)
		}
	}
	reply, err := redisDo(rw, "PING")
	if err != nil {
		return Observation{}, fmt.Errorf("PING: %w", err)
	}
	if reply != "PONG" {
		return Observation{}, fmt.Errorf("PING answered %q, want PONG", reply)
	}
	return Observation{Message: fmt.Sprintf("PONG in %s", roundLatency(time.Since(start)))}, nil
}

// redisError is an error reply from the server, e.g. "WRONGPASS invalid
// username-password pair or user is disabled."
type redisError string

func (e redisError) Error() string { return "redis: " + string(e) }

// redisDo sends a command as a RESP array of bulk strings and reads a
// simple-string, error, integer or bulk reply.
func redisDo(rw *bufio.ReadWriter, args ...string) (string, error) {
	fmt.Fprintf(rw, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(rw, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := rw.Flush(); err != nil {
		return "", err
	}
	line, err := readLine(rw.Reader)
	if err != nil {
		return "", err
	}
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", redisError(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n > 1<<20 {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rw.Reader, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("unexpected reply %q (is this a Redis server?)", snippet([]byte(line)))
	}
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if line != "" {
			return "", fmt.Errorf("reply cut short (%q): %w", snippet([]byte(line)), err)
		}
		return "", fmt.Errorf("connection closed before the reply: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
