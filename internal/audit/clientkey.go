package audit

import (
	"context"
	"net/netip"
)

// ipv6BudgetBits is the prefix an IPv6 client is counted under by the
// per-address limits: a /64, the smallest block a network hands a site or
// a single subscriber (RFC 7421 §1; RFC 6177 recommends /48 to /56 for
// sites), within which a client chooses its own addresses (SLAAC privacy
// addresses, RFC 8981) and could otherwise draw a fresh budget for each.
const ipv6BudgetBits = 64

// ClientBudgetKey returns what the per-address limits (sign-in failures,
// sign-ups, anonymous password ratings) count ctx's client under:
// BudgetKey of ClientAddr.
func ClientBudgetKey(ctx context.Context) string {
	return BudgetKey(ClientAddr(ctx))
}

// BudgetKey returns addr itself for an IPv4 address (an IPv4-mapped IPv6
// address counts as the IPv4 one), its /64 prefix for an IPv6 address
// ("2001:db8:1:2::/64" for 2001:db8:1:2:aaaa::1), and addr unchanged when
// it does not parse. Records keep the full address (ClientAddr).
func BudgetKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, ipv6BudgetBits).Masked().String()
}
