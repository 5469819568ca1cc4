package audit

import "testing"

// An IPv6 client is counted by its /64: the addresses it may choose
// itself share one budget (a tester drew a fresh one per address).
func TestBudgetKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7":                "192.0.2.7",
		"::ffff:192.0.2.7":         "192.0.2.7",
		"2001:db8:1:2::1":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ee::99": "2001:db8:1:2::/64",
		"fe80::1%eth0":             "fe80::/64",
		"2001:db8:1:3::1":          "2001:db8:1:3::/64",
		"not an address":           "not an address",
		"":                         "",
	} {
		if got := BudgetKey(addr); got != want {
			t.Errorf("BudgetKey(%q) = %q, want %q", addr, got, want)
		}
	}
}
