package health_test

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
)

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	res := checkOne(t, health.CheckConfig{Name: "port", TCP: ln.Addr().String()}, "")
	assert.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	assert.Contains(t, res.Message, "connected to "+ln.Addr().String())
	assert.Equal(t, "tcp", res.Kind)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := closed.Addr().String()
	closed.Close()
	res = checkOne(t, health.CheckConfig{Name: "port", TCP: addr}, "")
	assert.Equal(t, shipprod.HealthFail, res.Status)
	assert.Contains(t, res.Error, "connection refused")
}

// fakeDNS is a loopback DNS server over UDP that answers A queries from a
// table and NXDOMAIN for names it does not know, following RFC 1035's wire
// format closely enough for Go's own resolver.
type fakeDNS struct {
	conn    net.PacketConn
	records map[string][]net.IP // lower-case FQDN with trailing dot
}

func startFakeDNS(t *testing.T, records map[string][]net.IP) *fakeDNS {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &fakeDNS{conn: conn, records: records}
	t.Cleanup(func() { conn.Close() })
	go s.serve()
	return s
}

func (s *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, addr, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := s.answer(buf[:n]); resp != nil {
			_, _ = s.conn.WriteTo(resp, addr)
		}
	}
}

func (s *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	// Read the question name.
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	i++ // the root label
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, ".")) + "."

	ips, known := s.records[name]
	var answers [][]byte
	for _, ip := range ips {
		if ip4 := ip.To4(); ip4 != nil && qtype == 1 {
			rr := []byte{0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4}
			answers = append(answers, append(rr, ip4...))
		}
	}
	rcode := byte(0)
	if !known {
		rcode = 3 // NXDOMAIN
	}
	resp := make([]byte, 12, 512)
	copy(resp, q[:2])                 // ID
	resp[2] = 0x80 | 0x04 | q[2]&0x01 // QR, AA, RD copied
	resp[3] = 0x80 | rcode            // RA
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], uint16(len(answers)))
	resp = append(resp, question...)
	for _, a := range answers {
		resp = append(resp, a...)
	}
	return resp
}

func (s *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.conn.LocalAddr().String())
	}}
}

func TestDNSCheck(t *testing.T) {
	dns := startFakeDNS(t, map[string][]net.IP{
		"app.shipprod.test.": {net.ParseIP("127.0.0.10"), net.ParseIP("127.0.0.11")},
		"one.shipprod.test.": {net.ParseIP("127.0.0.12")},
	})
	tests := []struct {
		name  string
		cc    health.CheckConfig
		ok    bool
		inMsg string
	}{
		{"resolves", health.CheckConfig{DNS: "app.shipprod.test"}, true, "app.shipprod.test resolves to 127.0.0.10, 127.0.0.11"},
		{"expected addresses", health.CheckConfig{DNS: "app.shipprod.test.", ExpectAddresses: []string{"127.0.0.11"}, MinAddresses: 2}, true, "resolves to"},
		{"too few addresses", health.CheckConfig{DNS: "one.shipprod.test", MinAddresses: 2}, false, "one.shipprod.test resolves to 1 addresses (127.0.0.12), want at least 2"},
		{"missing address", health.CheckConfig{DNS: "one.shipprod.test", ExpectAddresses: []string{"127.0.0.99"}}, false, "missing 127.0.0.99"},
		{"no such host", health.CheckConfig{DNS: "gone.shipprod.test"}, false, "no such host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cc.Name = "dns"
			c := newChecker(t, health.Config{Checks: []health.CheckConfig{tt.cc}}, health.Options{Resolver: dns.resolver()})
			rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
			require.NoError(t, err)
			res := rep.Checks[0]
			if tt.ok {
				assert.Equal(t, shipprod.HealthPass, res.Status, res.Error)
				assert.Contains(t, res.Message, tt.inMsg)
			} else {
				assert.Equal(t, shipprod.HealthFail, res.Status)
				assert.Contains(t, res.Error, tt.inMsg)
			}
		})
	}
}

// With no answer at all the attempt times out instead of hanging.
func TestDNSCheckTimeout(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer silent.Close()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", silent.LocalAddr().String())
	}}
	c := newChecker(t, health.Config{Checks: []health.CheckConfig{{Name: "dns", DNS: "app.shipprod.test", Timing: health.Timing{Timeout: 80 * time.Millisecond}}}},
		health.Options{Resolver: r})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	assert.Equal(t, shipprod.HealthFail, rep.Checks[0].Status)
	assert.Contains(t, rep.Checks[0].Error, "timed out after 80ms")
}
