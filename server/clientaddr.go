package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/realclientip/realclientip-go"
)

// clientAddressHeaders are the headers TRUSTED_PROXY_HEADER may name: the
// de-facto X-Forwarded-For and RFC 7239's Forwarded (its for= parameter).
var clientAddressHeaders = []string{"X-Forwarded-For", "Forwarded"}

// clientAddresser finds the address of the client a request comes from:
// the TCP peer, unless the peer is a trusted proxy (TRUSTED_PROXIES); then
// the rightmost address of the proxy header (TRUSTED_PROXY_HEADER) that is
// not a trusted proxy itself, read right to left because each proxy appends
// the address it received the request from and only the part the trusted
// proxies wrote can be believed (the leftmost entries are whatever the
// client sent). A request whose header names no such address, or one that
// does not parse, is taken to come from the peer. Requests from untrusted
// peers are never read for headers: anyone can send them.
type clientAddresser struct {
	trusted  []netip.Prefix
	strategy realclientip.RightmostTrustedRangeStrategy
}

// newClientAddresser returns a clientAddresser trusting proxies in trusted,
// reading header; an error for a header other than clientAddressHeaders.
func newClientAddresser(trusted []netip.Prefix, header string) (*clientAddresser, error) {
	nets := make([]net.IPNet, 0, len(trusted))
	for _, p := range trusted {
		p = p.Masked()
		nets = append(nets, net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())})
	}
	strategy, err := realclientip.NewRightmostTrustedRangeStrategy(header, nets)
	if err != nil {
		return nil, fmt.Errorf("bad TRUSTED_PROXY_HEADER %q: want %s", header, strings.Join(clientAddressHeaders, " or "))
	}
	return &clientAddresser{trusted: trusted, strategy: strategy}, nil
}

// addr returns r's client address, without port or zone.
func (c *clientAddresser) addr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(c.trusted) == 0 || !contains(c.trusted, host) {
		return host
	}
	if ip := c.strategy.ClientIP(r.Header, r.RemoteAddr); ip != "" {
		h, _ := realclientip.SplitHostZone(ip)
		return h
	}
	return host
}

func contains(prefixes []netip.Prefix, host string) bool {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseCIDRs reads a comma-separated list of CIDR ranges and single
// addresses (a /32 or /128) for the setting name.
func parseCIDRs(name, v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("bad %s %q: want CIDR ranges or addresses, comma-separated", name, item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
