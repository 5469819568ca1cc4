package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/mongotest"
)

// Sign-in protection (issue 20): real client addresses behind trusted
// proxies, a refilling per-address budget, device tokens that keep a
// returning customer or operator out of strangers' lock-outs, and limits
// shared by the instances on one MongoDB.

const deviceLoginMutation = `mutation($email: String!, $password: String!, $device: String) {
  login(input: {domain: "demo", email: $email, password: $password, deviceToken: $device}) {
    token deviceToken userErrors { code }
  }
}`

const deviceOperatorLoginMutation = `mutation($email: String!, $password: String!, $device: String) {
  operatorLogin(input: {domain: "demo", email: $email, password: $password, deviceToken: $device}) {
    token deviceToken userErrors { code }
  }
}`

// signInVia is one sign-in over HTTP with the headers given (a proxy's
// X-Forwarded-For). It returns the session token, the device token and the
// error code ("" on success).
func signInVia(t *testing.T, s *testInstance, mutation, email, password, device string, headers map[string]string) (token, deviceToken, code string) {
	t.Helper()
	vars := map[string]any{"email": email, "password": password}
	if device != "" {
		vars["device"] = device
	}
	out := postVia(t, s, mutation, vars, headers)
	if len(out.Errors) > 0 {
		return "", "", out.code()
	}
	field := "login"
	if strings.Contains(mutation, "operatorLogin") {
		field = "operatorLogin"
	}
	token, _ = dig(out.Data, field, "token").(string)
	deviceToken, _ = dig(out.Data, field, "deviceToken").(string)
	if errs, _ := dig(out.Data, field, "userErrors").([]any); len(errs) > 0 {
		code, _ = dig(errs[0], "code").(string)
	}
	if token == "" && code == "" {
		t.Fatalf("%s: neither token nor error: %+v", field, out)
	}
	return token, deviceToken, code
}

// postVia sends one GraphQL request with the headers given.
func postVia(t *testing.T, s *testInstance, query string, vars map[string]any, headers map[string]string) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// via is a request through the trusted proxy (the test's loopback peer)
// for the client addr.
func via(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }

func trustLoopback(c *config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// spend fails n sign-ins with unknown emails from the client addr (through
// the proxy): the address's budget, and no account's.
func spend(t *testing.T, s *testInstance, headers map[string]string, n int, tag string) {
	t.Helper()
	for i := range n {
		if _, _, code := signInVia(t, s, deviceLoginMutation, fmt.Sprintf("stranger-%s-%d@example.com", tag, i), "not the password", "", headers); code != "INVALID_CREDENTIALS" {
			t.Fatalf("stuffed failure %d (%s): %s", i+1, tag, code)
		}
	}
}

func TestClientAddressFromTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:a::/48")}
	for _, tt := range []struct {
		name, header, peer string
		values             map[string]string
		want               string
	}{
		{"no proxy header", "X-Forwarded-For", "10.1.1.1:5000", nil, "10.1.1.1"},
		{"from a trusted proxy", "X-Forwarded-For", "10.1.1.1:5000", map[string]string{"X-Forwarded-For": "203.0.113.7"}, "203.0.113.7"},
		{"trusted hops skipped, right to left", "X-Forwarded-For", "10.1.1.1:5000",
			map[string]string{"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.2.2.2"}, "203.0.113.7"},
		{"a spoofed left part is not believed", "X-Forwarded-For", "10.1.1.1:5000",
			map[string]string{"X-Forwarded-For": "10.9.9.9, 192.0.2.50"}, "192.0.2.50"},
		{"spoofed header from an untrusted peer", "X-Forwarded-For", "192.0.2.99:5000",
			map[string]string{"X-Forwarded-For": "203.0.113.7"}, "192.0.2.99"},
		{"Forwarded from an untrusted peer", "Forwarded", "192.0.2.99:5000", map[string]string{"Forwarded": "for=203.0.113.7"}, "192.0.2.99"},
		{"Forwarded (RFC 7239)", "Forwarded", "10.1.1.1:5000",
			map[string]string{"Forwarded": `for=198.51.100.1, for="[2001:db8:cafe::17]:4711", for=10.3.3.3`}, "2001:db8:cafe::17"},
		{"the header not configured is ignored", "Forwarded", "10.1.1.1:5000", map[string]string{"X-Forwarded-For": "203.0.113.7"}, "10.1.1.1"},
		{"only trusted addresses", "X-Forwarded-For", "10.1.1.1:5000", map[string]string{"X-Forwarded-For": "10.4.4.4, 10.5.5.5"}, "10.1.1.1"},
		{"garbage at the right", "X-Forwarded-For", "10.1.1.1:5000", map[string]string{"X-Forwarded-For": "203.0.113.7, not-an-address"}, "10.1.1.1"},
		{"an IPv6 proxy", "X-Forwarded-For", "[2001:db8:a::1]:443", map[string]string{"X-Forwarded-For": "203.0.113.8"}, "203.0.113.8"},
		{"an IPv4-mapped peer", "X-Forwarded-For", "[::ffff:10.1.1.1]:443", map[string]string{"X-Forwarded-For": "203.0.113.9"}, "203.0.113.9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newClientAddresser(trusted, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			r.RemoteAddr = tt.peer
			for k, v := range tt.values {
				r.Header.Set(k, v)
			}
			if got := c.addr(r); got != tt.want {
				t.Errorf("client address %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := newClientAddresser(trusted, "X-Real-IP"); err == nil {
		t.Error("X-Real-IP accepted as TRUSTED_PROXY_HEADER")
	}
}

func TestTrustedProxySettings(t *testing.T) {
	env := map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1,2001:db8::/32", "THROTTLE_EXEMPT_CIDRS": "198.51.100.0/24", "TRUSTED_PROXY_HEADER": "Forwarded"}
	cfg, err := parseConfig(nil, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.TrustedProxies) != "[10.0.0.0/8 192.0.2.1/32 2001:db8::/32]" || fmt.Sprint(cfg.ThrottleExempt) != "[198.51.100.0/24]" ||
		cfg.TrustedProxyHeader != "Forwarded" {
		t.Fatalf("parsed %v %v %q", cfg.TrustedProxies, cfg.ThrottleExempt, cfg.TrustedProxyHeader)
	}
	if def := defaultConfig(); len(def.TrustedProxies) != 0 || def.TrustedProxyHeader != "X-Forwarded-For" {
		t.Fatalf("defaults: %v %q", def.TrustedProxies, def.TrustedProxyHeader)
	}
	for k, v := range map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33", "THROTTLE_EXEMPT_CIDRS": "an office", "TRUSTED_PROXY_HEADER": "X-Real-IP"} {
		if _, err := parseConfig(nil, func(name string) string {
			if name == k {
				return v
			}
			return ""
		}, nil); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: %v, want an error naming it", k, v, err)
		}
	}
}

// Through the server: behind a trusted proxy each client has its own
// budget; without one, headers anyone can send change nothing.
func TestAddressBudgetBehindAProxy(t *testing.T) {
	t.Run("trusted proxy", func(t *testing.T) {
		s := startTest(t, trustLoopback)
		spend(t, s, via("203.0.113.5"), 20, "a")
		if _, _, code := signInVia(t, s, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, "", via("203.0.113.5")); code != codeRateLimited {
			t.Fatalf("the attacker's address after 20 failures: %q, want RATE_LIMITED", code)
		}
		if _, _, code := signInVia(t, s, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, "", via("203.0.113.6")); code != "" {
			t.Fatalf("another client behind the same proxy: %q", code)
		}
		// The budget refills: one failure every 30 s, never a longer wait.
		s.clock.Advance(30 * time.Second)
		spend(t, s, via("203.0.113.5"), 1, "b")
		if _, _, code := signInVia(t, s, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, "", via("203.0.113.5")); code != codeRateLimited {
			t.Fatalf("after the refilled failure: %q, want RATE_LIMITED", code)
		}
	})
	t.Run("spoofed headers from an untrusted peer", func(t *testing.T) {
		s := startTest(t, nil) // TRUSTED_PROXIES empty: the default
		for i := range 20 {
			spend(t, s, via(fmt.Sprintf("203.0.113.%d", i+1)), 1, fmt.Sprint(i))
		}
		if _, _, code := signInVia(t, s, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, "", via("198.51.100.200")); code != codeRateLimited {
			t.Fatalf("a fresh spoofed address after 20 failures from one peer: %q, want RATE_LIMITED", code)
		}
	})
}

// The attacker, the returning customer behind the same address and a
// stolen device token, on both stores.
func TestKnownDevicesAreNotLockedOutByStrangers(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			edit := kind.edit(t)
			f := newAccountFixture(t, func(c *config) {
				if edit != nil {
					edit(c)
				}
				trustLoopback(c)
			})
			nat := via("198.51.100.10")
			// The customer signs in once, from home behind the carrier's NAT.
			_, customerDevice, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, customerPassword, "", nat)
			if code != "" || customerDevice == "" {
				t.Fatalf("first sign-in: %q, device token %q", code, customerDevice)
			}
			_, operatorDevice, code := signInVia(t, f.testInstance, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, "", via("192.0.2.20"))
			if code != "" || operatorDevice == "" {
				t.Fatalf("operator's first sign-in: %q, device token %q", code, operatorDevice)
			}
			// The attacker behind the same NAT: strangers' accounts, then the
			// customer's password (the 5th failure starts 1 s, the 6th 2 s),
			// until the address has no budget left.
			spend(t, f.testInstance, nat, 14, "nat")
			for i := range 6 {
				if i == 5 {
					f.clock.Advance(time.Second)
				}
				if _, _, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, fmt.Sprintf("guess %d", i), "", nat); code != "INVALID_CREDENTIALS" {
					t.Fatalf("guess %d: %s", i+1, code)
				}
			}
			// A never-seen device is refused, elsewhere (the account backs
			// off) and behind the NAT (the address has no budget).
			if _, _, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, customerPassword, "", via("192.0.2.30")); code != codeRateLimited {
				t.Fatalf("a new device elsewhere during the account's back-off: %q, want RATE_LIMITED", code)
			}
			if _, _, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, customerPassword, "", nat); code != codeRateLimited {
				t.Fatalf("a new device behind the NAT: %q, want RATE_LIMITED", code)
			}
			// The returning customer is in, and keeps its token.
			token, again, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, customerPassword, customerDevice, nat)
			if code != "" || token == "" || again != customerDevice {
				t.Fatalf("the returning customer: %q, device token kept %v", code, again == customerDevice)
			}
			// A stolen device token used for another account gives nothing.
			if _, _, code := signInVia(t, f.testInstance, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, customerDevice, nat); code != codeRateLimited {
				t.Fatalf("the customer's token for the operator: %q, want RATE_LIMITED", code)
			}
			// The operator's own token does.
			if _, _, code := signInVia(t, f.testInstance, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, operatorDevice, nat); code != "" {
				t.Fatalf("the operator's own device behind the NAT: %q", code)
			}
			// A device token opens no session.
			if resp := f.post(t, customerDevice, viewerQuery, nil); resp.code() != "UNAUTHENTICATED" {
				t.Fatalf("a device token as a bearer token: %+v", resp)
			}
			// Ended with the account's sessions: a password reset by support.
			admin := f.login(t, demo.AdminEmail)
			if resp := f.post(t, admin, resetMutation, map[string]any{"id": f.customerID(), "pw": newPassword, "confirm": newPassword}); len(resp.Errors) > 0 {
				t.Fatalf("reset: %+v", resp)
			}
			if _, _, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, newPassword, customerDevice, nat); code != codeRateLimited {
				t.Fatalf("the device token after a password reset: %q, want RATE_LIMITED (no exemption)", code)
			}
		})
	}
}

// Two instances on one MongoDB share one budget per address and one
// back-off per account: an attacker who spreads its attempts over both gets
// no more, and a returning customer still signs in on either.
func TestSignInLimitsHoldAcrossInstances(t *testing.T) {
	uri := mongotest.URI(t)
	edit := func(c *config) { c.MongoURI = uri; trustLoopback(c) }
	a := newAccountFixture(t, edit)
	b := addCustomer(t, startTest(t, edit))
	nat := via("198.51.100.11")
	_, device, code := signInVia(t, a.testInstance, deviceLoginMutation, customerEmail, customerPassword, "", nat)
	if code != "" || device == "" {
		t.Fatalf("first sign-in on A: %q", code)
	}
	// Six wrong passwords, alternating instances (the 5th starts 1 s, the
	// 6th 2 s): the account backs off on both.
	for i := range 6 {
		if i == 5 {
			a.clock.Advance(time.Second)
			b.clock.Advance(time.Second)
		}
		s := []*testInstance{a.testInstance, b.testInstance}[i%2]
		if _, _, code := signInVia(t, s, deviceLoginMutation, customerEmail, fmt.Sprintf("guess %d", i), "", via("192.0.2.40")); code != "INVALID_CREDENTIALS" {
			t.Fatalf("guess %d: %s", i+1, code)
		}
	}
	for name, s := range map[string]*testInstance{"A": a.testInstance, "B": b.testInstance} {
		if _, _, code := signInVia(t, s, deviceLoginMutation, customerEmail, customerPassword, "", via("192.0.2.41")); code != codeRateLimited {
			t.Fatalf("a new device on %s during the account's back-off: %q, want RATE_LIMITED", name, code)
		}
	}
	// Twenty failures from the NAT's address, ten on each: its budget is spent on both.
	spend(t, a.testInstance, nat, 10, "a")
	spend(t, b.testInstance, nat, 10, "b")
	for name, s := range map[string]*testInstance{"A": a.testInstance, "B": b.testInstance} {
		if _, _, code := signInVia(t, s, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, "", nat); code != codeRateLimited {
			t.Fatalf("the attacker's address on %s after 10 + 10 failures: %q, want RATE_LIMITED", name, code)
		}
	}
	// The returning customer, behind that address, on either instance.
	for name, s := range map[string]*testInstance{"A": a.testInstance, "B": b.testInstance} {
		if token, _, code := signInVia(t, s, deviceLoginMutation, customerEmail, customerPassword, device, nat); code != "" || token == "" {
			t.Fatalf("the returning customer on %s: %q", name, code)
		}
	}
}

// The thresholds as the README states them, counted over the API: per
// account, 5 failures are answered, the 6th attempt at once is refused for
// 1 s, then 2 s, 4 s; per address, 20 failures, the 21st attempt refused
// for at most 30 s.
func TestSignInThresholdsAsDocumented(t *testing.T) {
	f := newAccountFixture(t, trustLoopback)
	waits := []int{}
	for i := 1; len(waits) < 3; i++ {
		resp := f.post(t, "", customerLoginMutation, map[string]any{"email": customerEmail, "password": fmt.Sprintf("guess %d", i)})
		if resp.code() == codeRateLimited {
			if i != 6 && len(waits) == 0 {
				t.Fatalf("the first refused attempt is the %dth, want the 6th", i)
			}
			secs, _ := resp.Errors[0].Extensions["retryAfterSeconds"].(float64)
			waits = append(waits, int(secs))
			f.clock.Advance(time.Duration(secs) * time.Second)
			continue
		}
		if errs, _ := dig(resp.Data, "login", "userErrors").([]any); len(errs) == 0 || dig(errs[0], "code") != "INVALID_CREDENTIALS" {
			t.Fatalf("attempt %d: %+v", i, resp)
		}
	}
	if fmt.Sprint(waits) != "[1 2 4]" {
		t.Fatalf("account back-offs %v, want [1 2 4] seconds", waits)
	}
	spend(t, f.testInstance, via("203.0.113.77"), 20, "count")
	resp := postVia(t, f.testInstance, deviceOperatorLoginMutation, map[string]any{"email": demo.AdminEmail, "password": testPassword}, via("203.0.113.77"))
	if secs, _ := resp.Errors[0].Extensions["retryAfterSeconds"].(float64); resp.code() != codeRateLimited || secs < 1 || secs > 30 {
		t.Fatalf("the 21st attempt from an address: %+v, want RATE_LIMITED for at most 30 s", resp)
	}
}
