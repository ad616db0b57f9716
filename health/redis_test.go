package health_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/internal/servicetest"
)

// fakeRedis speaks RESP2 like a Redis 7 server with requirepass set: HELLO 2
// (with AUTH, as go-redis connects), AUTH (with or without a user name, as
// clients of servers before Redis 6 do), SELECT and PING, and their error
// replies. It does not speak RESP3: HELLO 3 is answered NOPROTO, as a server
// without RESP3 would (the checker asks for RESP2).
type fakeRedis struct {
	ln       net.Listener
	password string
	// echoPassword makes a failed AUTH repeat what it was given, the way a
	// careless proxy might, to prove that the checker masks it.
	echoPassword bool
}

func startFakeRedis(t *testing.T, password string, tlsCfg *tls.Config) *fakeRedis {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	s := &fakeRedis{ln: ln, password: password}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *fakeRedis) addr() string { return s.ln.Addr().String() }

func (s *fakeRedis) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	authed := s.password == ""
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		var reply string
		switch cmd := strings.ToUpper(args[0]); {
		case cmd == "HELLO":
			var ok bool
			authed, ok, reply = s.hello(args, authed)
			if ok {
				reply = helloReply
			}
		case cmd == "AUTH":
			pass := args[len(args)-1]
			switch {
			case s.password == "":
				reply = "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
			case pass == s.password && (len(args) == 2 || args[1] == "default"):
				authed, reply = true, "+OK"
			case s.echoPassword:
				reply = "-ERR invalid password " + pass
			default:
				reply = "-WRONGPASS invalid username-password pair or user is disabled."
			}
		case !authed:
			reply = "-NOAUTH Authentication required."
		case cmd == "SELECT":
			if n, err := strconv.Atoi(args[1]); err != nil || n > 15 {
				reply = "-ERR DB index is out of range"
			} else {
				reply = "+OK"
			}
		case cmd == "PING":
			reply = "+PONG"
		default:
			reply = fmt.Sprintf("-ERR unknown command '%s'", args[0])
		}
		if _, err := io.WriteString(c, reply+"\r\n"); err != nil {
			return
		}
	}
}

// helloReply is Redis 7's answer to HELLO 2: its properties as a flat array.
const helloReply = "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n$5\r\nproto\r\n:2\r\n" +
	"$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0"

// hello answers HELLO [protover [AUTH username password] [SETNAME name]]:
// whether the connection is now authenticated, whether HELLO succeeded,
// and otherwise the error reply.
func (s *fakeRedis) hello(args []string, authed bool) (bool, bool, string) {
	if len(args) > 1 && args[1] != "2" {
		return authed, false, "-NOPROTO sorry, this protocol version is not supported."
	}
	for i := 2; i+2 < len(args); i++ {
		if !strings.EqualFold(args[i], "AUTH") {
			continue
		}
		user, pass := args[i+1], args[i+2]
		switch {
		case user == "default" && (s.password == "" || pass == s.password):
			return true, true, ""
		case s.echoPassword:
			return authed, false, "-ERR invalid password " + pass
		default:
			return authed, false, "-WRONGPASS invalid username-password pair or user is disabled."
		}
	}
	if !authed {
		return authed, false, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> " +
			"option can be used to authenticate the client and select the RESP protocol version at the same time"
	}
	return authed, true, ""
}

func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("bad command %q", line)
	}
	args := make([]string, n)
	for i := range args {
		if line, err = r.ReadString('\n'); err != nil {
			return nil, err
		}
		l, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return nil, err
		}
		buf := make([]byte, l+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:l])
	}
	return args, nil
}

// selfSignedTLS makes a certificate for 127.0.0.1 and writes it, as its
// own CA, to a PEM file.
func selfSignedTLS(t *testing.T) (*tls.Config, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "shipprod test redis"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile
}

func TestRedisCheck(t *testing.T) {
	const password = "s3cret-redis-pw"
	plain := startFakeRedis(t, password, nil)
	echo := startFakeRedis(t, password, nil)
	echo.echoPassword = true
	open := startFakeRedis(t, "", nil)
	serverTLS, caFile := selfSignedTLS(t)
	secure := startFakeRedis(t, password, serverTLS)

	env := map[string]string{"REDIS_PASSWORD": password, "WRONG_PASSWORD": "not-the-" + password}
	tests := []struct {
		name  string
		cfg   health.RedisConfig
		ok    bool
		inMsg string
	}{
		{"auth and ping", health.RedisConfig{Addr: plain.addr(), PasswordEnv: "REDIS_PASSWORD"}, true, "PONG in "},
		{"acl user and db", health.RedisConfig{Addr: plain.addr(), Username: "default", PasswordEnv: "REDIS_PASSWORD", DB: 3}, true, "PONG"},
		{"no password needed", health.RedisConfig{Addr: open.addr()}, true, "PONG"},
		{"missing password", health.RedisConfig{Addr: plain.addr()}, false, "redis: NOAUTH Authentication required."},
		{"wrong password", health.RedisConfig{Addr: plain.addr(), PasswordEnv: "WRONG_PASSWORD"}, false, "redis: WRONGPASS invalid username-password pair"},
		{"server repeating the password", health.RedisConfig{Addr: echo.addr(), PasswordEnv: "WRONG_PASSWORD"}, false, "redis: ERR invalid password ***"},
		{"bad db", health.RedisConfig{Addr: plain.addr(), PasswordEnv: "REDIS_PASSWORD", DB: 99}, false, "redis: ERR DB index is out of range"},
		{"tls", health.RedisConfig{Addr: secure.addr(), PasswordEnv: "REDIS_PASSWORD", TLS: health.TLSConfig{Enabled: true, CAFile: caFile}}, true, "PONG"},
		{"tls with an unknown CA", health.RedisConfig{Addr: secure.addr(), PasswordEnv: "REDIS_PASSWORD", TLS: health.TLSConfig{Enabled: true}}, false,
			"TLS handshake: tls: failed to verify certificate"},
		{"plain text to a TLS port", health.RedisConfig{Addr: secure.addr(), PasswordEnv: "REDIS_PASSWORD"}, false, "redis: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, health.Config{Checks: []health.CheckConfig{{Name: "cache", Redis: &tt.cfg, Timing: health.Timing{Timeout: 2 * time.Second}}}},
				health.Options{Getenv: func(k string) string { return env[k] }})
			rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
			require.NoError(t, err)
			res := rep.Checks[0]
			assert.Equal(t, "redis", res.Kind)
			if tt.ok {
				assert.Equal(t, shipprod.HealthPass, res.Status, res.Error)
				assert.Contains(t, res.Message, tt.inMsg)
			} else {
				assert.Equal(t, shipprod.HealthFail, res.Status)
				assert.Contains(t, res.Error, tt.inMsg)
			}
			assert.NotContains(t, res.Error+res.Message, password)
		})
	}
}

// recordingLogger records what go-redis logs.
type recordingLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordingLogger) Printf(_ context.Context, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
}

// go-redis logs through a package-global logger that prints to stderr. The
// check must give it nothing to log — not a refused connection, not a
// rejected password — so that nothing is printed and no secret leaks there.
func TestRedisCheckLogsNothingThroughGoRedis(t *testing.T) {
	rec := &recordingLogger{}
	redis.SetLogger(rec)
	t.Cleanup(func() { redis.SetLogger(&recordingLogger{}) })

	const password = "s3cret-redis-pw"
	plain := startFakeRedis(t, password, nil)
	serverTLS, _ := selfSignedTLS(t)
	secure := startFakeRedis(t, password, serverTLS)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())

	env := map[string]string{"PW": password, "WRONG": "not-the-" + password}
	c := newChecker(t, health.Config{Timing: health.Timing{Timeout: 2 * time.Second}, Checks: []health.CheckConfig{
		{Name: "ok", Redis: &health.RedisConfig{Addr: plain.addr(), PasswordEnv: "PW", DB: 2}},
		{Name: "wrong-password", Redis: &health.RedisConfig{Addr: plain.addr(), PasswordEnv: "WRONG"}},
		{Name: "refused", Redis: &health.RedisConfig{Addr: closed, PasswordEnv: "PW"}},
		{Name: "tls-unknown-ca", Redis: &health.RedisConfig{Addr: secure.addr(), PasswordEnv: "PW", TLS: health.TLSConfig{Enabled: true}}},
		{Name: "plain-to-tls", Redis: &health.RedisConfig{Addr: secure.addr(), PasswordEnv: "PW"}},
	}}, health.Options{Getenv: func(k string) string { return env[k] }})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	statuses := map[string]shipprod.HealthStatus{}
	for _, r := range rep.Checks {
		statuses[r.Name] = r.Status
	}
	assert.Equal(t, map[string]shipprod.HealthStatus{"ok": shipprod.HealthPass, "wrong-password": shipprod.HealthFail,
		"refused": shipprod.HealthFail, "tls-unknown-ca": shipprod.HealthFail, "plain-to-tls": shipprod.HealthFail}, statuses)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Empty(t, rec.lines, "go-redis logged")
}

// TestRedisCheckRealServer runs against a real redis-server with a password
// and, on its TLS port, over TLS.
func TestRedisCheckRealServer(t *testing.T) {
	v := servicetest.Require(t, "a Redis server with requirepass", "SHIPPROD_TEST_REDIS_ADDR", "SHIPPROD_TEST_REDIS_PASSWORD")
	addr, password := v[0], v[1]
	env := map[string]string{"PW": password, "WRONG": "wrong-" + password}
	checks := []health.CheckConfig{
		{Name: "ok", Redis: &health.RedisConfig{Addr: addr, PasswordEnv: "PW", DB: 1}},
		{Name: "wrong-password", Redis: &health.RedisConfig{Addr: addr, PasswordEnv: "WRONG"}},
		{Name: "no-password", Redis: &health.RedisConfig{Addr: addr}},
	}
	c := newChecker(t, health.Config{Checks: checks}, health.Options{Getenv: func(k string) string { return env[k] }})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	byName := map[string]shipprod.CheckResult{}
	for _, r := range rep.Checks {
		byName[r.Name] = r
		assert.NotContains(t, r.Error+r.Message, password)
	}
	assert.Equal(t, shipprod.HealthPass, byName["ok"].Status, byName["ok"].Error)
	assert.Equal(t, shipprod.HealthFail, byName["wrong-password"].Status)
	assert.Contains(t, byName["wrong-password"].Error, "WRONGPASS")
	assert.Equal(t, shipprod.HealthFail, byName["no-password"].Status)
	assert.Contains(t, byName["no-password"].Error, "NOAUTH")
}

// TestRedisCheckRealServerTLS runs against the real redis-server's TLS port
// (tls-port, same password), which .ci/services.sh starts next to the plain
// one. Under CI=true it fails when that listener is missing: services.sh
// falls back to plain Redis when redis-server will not start with TLS, and
// CI must not quietly stop testing TLS then.
func TestRedisCheckRealServerTLS(t *testing.T) {
	password := servicetest.Require(t, "a Redis server with requirepass", "SHIPPROD_TEST_REDIS_ADDR", "SHIPPROD_TEST_REDIS_PASSWORD")[1]
	v := servicetest.RequireBecause(t, ".ci/services.sh started Redis but not its TLS listener "+
		"(its output says why: \"redis-server did not start with TLS\" and redis-server's log, or the certificates could not be made); "+
		"Debian's redis-server supports TLS — see _svc_redis in .ci/services.sh",
		"SHIPPROD_TEST_REDIS_TLS_ADDR", "SHIPPROD_TEST_REDIS_TLS_CA")
	tlsAddr, caFile := v[0], v[1]
	env := map[string]string{"PW": password}
	c := newChecker(t, health.Config{Checks: []health.CheckConfig{
		{Name: "tls", Redis: &health.RedisConfig{Addr: tlsAddr, PasswordEnv: "PW", TLS: health.TLSConfig{Enabled: true, CAFile: caFile}}},
		{Name: "tls-unknown-ca", Redis: &health.RedisConfig{Addr: tlsAddr, PasswordEnv: "PW", TLS: health.TLSConfig{Enabled: true}}},
		{Name: "plain-to-tls-port", Redis: &health.RedisConfig{Addr: tlsAddr, PasswordEnv: "PW"}},
	}}, health.Options{Getenv: func(k string) string { return env[k] }})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	byName := map[string]shipprod.CheckResult{}
	for _, r := range rep.Checks {
		byName[r.Name] = r
		assert.NotContains(t, r.Error+r.Message, password)
	}
	assert.Equal(t, shipprod.HealthPass, byName["tls"].Status, byName["tls"].Error)
	assert.Contains(t, byName["tls"].Message, "PONG")
	assert.Equal(t, shipprod.HealthFail, byName["tls-unknown-ca"].Status)
	assert.Contains(t, byName["tls-unknown-ca"].Error, "tls: failed to verify certificate")
	assert.Equal(t, shipprod.HealthFail, byName["plain-to-tls-port"].Status, "plain text to the TLS port")
}
