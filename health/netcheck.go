package health

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// tcpProbe checks that an address accepts TCP connections.
type tcpProbe struct{ addr string }

func newTCPProbe(addr string) (*tcpProbe, error) {
	addr = strings.TrimSpace(addr)
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return nil, fmt.Errorf("tcp %q is not host:port", addr)
	}
	return &tcpProbe{addr: addr}, nil
}

func (p *tcpProbe) Probe(ctx context.Context, _ Target) (Observation, error) {
	var d net.Dialer
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return Observation{}, err
	}
	remote := conn.RemoteAddr().String()
	_ = conn.Close()
	return Observation{Message: fmt.Sprintf("connected to %s in %s", remote, roundLatency(time.Since(start)))}, nil
}

// Resolver resolves host names; *net.Resolver implements it.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// dnsProbe checks that a name resolves.
type dnsProbe struct {
	host     string
	min      int
	expect   []string
	resolver Resolver
}

func newDNSProbe(cc CheckConfig, r Resolver) (*dnsProbe, error) {
	p := &dnsProbe{host: strings.TrimSuffix(strings.TrimSpace(cc.DNS), "."), min: cc.MinAddresses, resolver: r}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if strings.ContainsAny(p.host, "/: ") {
		return nil, fmt.Errorf("dns %q is not a host name (give the name alone, without scheme or port)", cc.DNS)
	}
	if p.min < 0 {
		return nil, fmt.Errorf("min_addresses must not be negative")
	}
	if p.min == 0 {
		p.min = 1
	}
	for _, a := range cc.ExpectAddresses {
		ip := net.ParseIP(strings.TrimSpace(a))
		if ip == nil {
			return nil, fmt.Errorf("expect_addresses: %q is not an IP address", a)
		}
		p.expect = append(p.expect, ip.String())
	}
	return p, nil
}

func (p *dnsProbe) Probe(ctx context.Context, _ Target) (Observation, error) {
	addrs, err := p.resolver.LookupHost(ctx, p.host)
	if err != nil {
		return Observation{}, err
	}
	norm := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil {
			a = ip.String()
		}
		norm = append(norm, a)
	}
	if len(norm) < p.min {
		return Observation{}, fmt.Errorf("%s resolves to %d addresses (%s), want at least %d", p.host, len(norm), strings.Join(norm, ", "), p.min)
	}
	var missing []string
	for _, want := range p.expect {
		if !slices.Contains(norm, want) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return Observation{}, fmt.Errorf("%s resolves to %s, missing %s", p.host, strings.Join(norm, ", "), strings.Join(missing, ", "))
	}
	return Observation{Message: fmt.Sprintf("%s resolves to %s", p.host, strings.Join(norm, ", "))}, nil
}
