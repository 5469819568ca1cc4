package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/demo"
)

const checkPasswordMutation = `mutation($in: CheckPasswordInput!) {
  checkPassword(input: $in) { acceptable score minScore minLength warning suggestions userErrors { field code message } }
}`

// weakPasswords are refused on every path, each by its rule, for the demo
// domain ("Demo Heating Co.", slug demo) and any account of it.
var weakPasswords = []struct{ password, code string }{
	{"short", "TOO_SHORT"},
	{"            ", "WHITESPACE_ONLY"}, // 12 spaces: accepted (and signed in with) before
	{"aaaaaaaaaaaa", "REPETITIVE"},
	{"abcdefghijkl", "SEQUENTIAL"},
	{"1qaz2wsx3edc", "COMMON_PASSWORD"},
	{"Demo-Heating-2025", "CONTEXT_WORD"}, // the domain's name
	{"IoT-Console-2025", "CONTEXT_WORD"},  // the product's name
	{"Jennifer2024!", "TOO_GUESSABLE"},
}

// passwordPath sets a password one way and returns the user error's code and
// field ("" when it was set).
type passwordPath struct {
	name  string
	field string // the input field the policy's user errors name
	// accountWord is a password built on this account's own words.
	accountWord string
	set         func(t *testing.T, password string) (code, field string)
	// check rates the password with checkPassword as the page of this path does.
	check func(t *testing.T, password string) gqlResponse
}

// passwordPaths are every way a password is set through the API, on f.
func passwordPaths(t *testing.T, f *accountFixture) []passwordPath {
	support := f.login(t, demo.SupportEmail)
	admin := f.login(t, demo.AdminEmail)
	casey, _, _ := f.customerLogin(t, customerPassword)
	resp := f.post(t, admin, inviteMutation, map[string]any{"name": "Nia Newcomer", "email": "nia.newcomer@example.com", "role": "SUPPORT"})
	url, _ := dig(resp.Data, "inviteOperator", "setupUrl").(string)
	ticket := strings.TrimPrefix(url, "/console#setup=")
	if ticket == "" {
		t.Fatalf("invite: %+v", resp)
	}
	signUps := 0
	payload := func(resp gqlResponse, field string) (string, string) {
		if len(resp.Errors) > 0 {
			t.Fatalf("%s: %+v", field, resp)
		}
		return firstUserError(resp, field)
	}
	check := func(token string, in map[string]any) func(t *testing.T, password string) gqlResponse {
		return func(t *testing.T, password string) gqlResponse {
			m := map[string]any{"password": password}
			for k, v := range in {
				m[k] = v
			}
			return f.post(t, token, checkPasswordMutation, map[string]any{"in": m})
		}
	}
	return []passwordPath{
		{"signUp", "password", "Sam.Signup.1990", func(t *testing.T, pw string) (string, string) {
			signUps++
			return payload(f.post(t, "", signUpMutation, signUpInput("demo", fmt.Sprintf("sam.signup%d@example.com", signUps),
				func(in map[string]any) { in["password"] = pw })), "signUp")
		}, check("", map[string]any{"for": "SIGN_UP", "domain": "demo", "firstName": "Sam", "lastName": "Signup", "email": "sam.signup@example.com"})},
		{"createCustomer", "password", "carl-caller-1990", func(t *testing.T, pw string) (string, string) {
			return payload(f.post(t, support, createCustomerMutation, map[string]any{"in": map[string]any{
				"firstName": "Carl", "lastName": "Caller", "email": "carl@example.com", "password": pw, "confirmPassword": pw}}), "createCustomer")
		}, check(support, map[string]any{"for": "CUSTOMER", "firstName": "Carl", "lastName": "Caller", "email": "carl@example.com"})},
		{"changePassword", "newPassword", "casey-customer-2020", func(t *testing.T, pw string) (string, string) {
			return payload(f.post(t, casey, `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token userErrors { field code } } }`,
				map[string]any{"c": customerPassword, "n": pw}), "changePassword")
		}, check(casey, map[string]any{"for": "SELF"})},
		{"resetPassword", "newPassword", "Casey.Customer.1990", func(t *testing.T, pw string) (string, string) {
			return payload(f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": pw, "confirm": pw}), "resetPassword")
		}, check(support, map[string]any{"for": "CUSTOMER", "customerId": f.customerID()})},
		{"completeOperatorSetup", "password", "nia.newcomer.1990", func(t *testing.T, pw string) (string, string) {
			return payload(f.post(t, "", setupMutation, map[string]any{"ticket": ticket, "password": pw}), "completeOperatorSetup")
		}, check("", map[string]any{"for": "OPERATOR_SETUP", "setupTicket": ticket})},
		{"changeOperatorPassword", "newPassword", "Sam-Support-1990", func(t *testing.T, pw string) (string, string) {
			return payload(f.post(t, support, operatorPasswordMutation, map[string]any{"current": testPassword, "next": pw}), "changeOperatorPassword")
		}, check(support, map[string]any{"for": "SELF"})},
	}
}

// Every way a password is set refuses each weak kind with its own code on
// the password's field, sets nothing, and checkPassword, asked as that
// path's page asks, answers the same rule.
func TestPasswordPolicyOnEveryPath(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			for _, path := range passwordPaths(t, f) {
				cases := append(weakPasswords[:len(weakPasswords):len(weakPasswords)],
					struct{ password, code string }{path.accountWord, "CONTEXT_WORD"})
				for _, c := range cases {
					if code, field := path.set(t, c.password); code != c.code || field != path.field {
						t.Errorf("%s with %q: %s on %q, want %s on %s", path.name, c.password, code, field, c.code, path.field)
					}
					resp := path.check(t, c.password)
					code, field := firstUserError(resp, "checkPassword")
					if code != c.code || field != "password" || dig(resp.Data, "checkPassword", "acceptable") != false {
						t.Errorf("checkPassword for %s with %q: %+v, want %s on password", path.name, c.password, resp, c.code)
					}
					if strings.TrimSpace(c.password) != "" && strings.Contains(fmt.Sprint(resp.Data), c.password) {
						t.Errorf("checkPassword for %s echoes %q: %+v", path.name, c.password, resp)
					}
				}
				resp := path.check(t, "violet tractor hums softly")
				if dig(resp.Data, "checkPassword", "acceptable") != true || fmt.Sprint(dig(resp.Data, "checkPassword", "score")) < "3" ||
					fmt.Sprint(dig(resp.Data, "checkPassword", "minScore")) != "3" || fmt.Sprint(dig(resp.Data, "checkPassword", "minLength")) != "12" {
					t.Errorf("checkPassword for %s with a strong passphrase: %+v", path.name, resp)
				}
				if code, _ := path.set(t, "violet tractor hums softly"); code != "" {
					t.Errorf("%s with a strong passphrase: %s", path.name, code)
				}
			}
			// Nothing weak was set: twelve spaces do not sign in, the strong passphrase does.
			if _, code, _ := f.customerLogin(t, "            "); code != "INVALID_CREDENTIALS" {
				t.Errorf("sign-in with twelve spaces: %s", code)
			}
			if tok, code, _ := f.customerLogin(t, "violet tractor hums softly"); tok == "" {
				t.Errorf("sign-in with the password changed last: %s", code)
			}
		})
	}
}

// checkPassword gives the estimator's feedback, sets nothing, and is
// authorized for whose password it rates.
func TestCheckPassword(t *testing.T) {
	f := newAccountFixture(t, nil)
	support := f.login(t, demo.SupportEmail)
	casey, _, _ := f.customerLogin(t, customerPassword)
	rate := func(token string, in map[string]any) gqlResponse {
		return f.post(t, token, checkPasswordMutation, map[string]any{"in": in})
	}

	resp := rate("", map[string]any{"for": "SIGN_UP", "domain": "demo", "password": "Welcome2024!"})
	if dig(resp.Data, "checkPassword", "warning") != "This is similar to a commonly used password" ||
		len(dig(resp.Data, "checkPassword", "suggestions").([]any)) == 0 || fmt.Sprint(dig(resp.Data, "checkPassword", "score")) != "2" {
		t.Errorf("feedback on Welcome2024!: %+v", resp)
	}
	msg, _ := dig(resp.Data, "checkPassword", "userErrors").([]any)
	if len(msg) != 1 || !strings.Contains(fmt.Sprint(dig(msg[0], "message")), "commonly used") {
		t.Errorf("the user error carries no feedback: %+v", resp)
	}
	// A closed or unknown domain is rated with the server's minimum: nothing tells whether it exists.
	for _, domain := range []string{"no-such-company", "Demo Heating Co."} {
		resp := rate("", map[string]any{"for": "SIGN_UP", "domain": domain, "password": "violet tractor hums softly"})
		if dig(resp.Data, "checkPassword", "acceptable") != true {
			t.Errorf("sign-up to %q: %+v", domain, resp)
		}
	}
	// Rating sets nothing: Casey's password is still the old one.
	rate(support, map[string]any{"for": "CUSTOMER", "customerId": f.customerID(), "password": "violet tractor hums softly"})
	if tok, code, _ := f.customerLogin(t, customerPassword); tok == "" {
		t.Errorf("Casey's password after rating another: %s", code)
	}

	for _, c := range []struct {
		name, token, code string
		in                map[string]any
	}{
		{"anonymous SELF", "", "UNAUTHENTICATED", map[string]any{"for": "SELF"}},
		{"a customer rating a customer's reset", casey, "FORBIDDEN", map[string]any{"for": "CUSTOMER", "customerId": f.customerID()}},
		{"an unknown customer", support, "NOT_FOUND", map[string]any{"for": "CUSTOMER", "customerId": globalIDForTest("Customer", "no-such-customer")}},
		{"anonymous CUSTOMER", "", "UNAUTHENTICATED", map[string]any{"for": "CUSTOMER", "firstName": "A"}},
	} {
		c.in["password"] = "violet tractor hums softly"
		if resp := rate(c.token, c.in); resp.code() != c.code || strings.Contains(fmt.Sprint(resp), "violet") {
			t.Errorf("%s: %+v, want %s", c.name, resp, c.code)
		}
	}
	resp = rate("", map[string]any{"for": "OPERATOR_SETUP", "setupTicket": "not-a-ticket", "password": "violet tractor hums softly"})
	if code, field := firstUserError(resp, "checkPassword"); code != "INVALID_TICKET" || field != "setupTicket" {
		t.Errorf("an unknown setup ticket: %+v", resp)
	}

	// A session that may only change its password may rate the new one.
	f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": "violet tractor hums softly", "confirm": "violet tractor hums softly", "require": true})
	restricted, _, _ := f.customerLogin(t, "violet tractor hums softly")
	if resp := rate(restricted, map[string]any{"for": "SELF", "password": "casey customer"}); firstCode(resp) != "MATCHES_ACCOUNT" {
		t.Errorf("a forced change rating its new password: %+v", resp)
	}
}

// firstCode returns checkPassword's first user error code, or the error's.
func firstCode(resp gqlResponse) string {
	if c := resp.code(); c != "" {
		return c
	}
	code, _ := firstUserError(resp, "checkPassword")
	return code
}

// checkPassword is limited per client address for anonymous callers and per
// account for signed-in ones: a script is refused, a person typing is not.
func TestCheckPasswordIsLimited(t *testing.T) {
	f := newAccountFixture(t, nil)
	in := map[string]any{"in": map[string]any{"for": "SIGN_UP", "domain": "demo", "password": "violet tractor hums"}}
	for i := range 60 {
		if resp := f.post(t, "", checkPasswordMutation, in); resp.code() != "" {
			t.Fatalf("rating %d: %+v", i+1, resp)
		}
	}
	resp := f.post(t, "", checkPasswordMutation, in)
	if resp.code() != codeRateLimited || resp.Errors[0].Extensions["retryAfterSeconds"] == nil {
		t.Fatalf("the 61st rating from one address: %+v", resp)
	}
	casey, _, _ := f.customerLogin(t, customerPassword)
	if resp := f.post(t, casey, checkPasswordMutation, map[string]any{"in": map[string]any{"for": "SELF", "password": "violet tractor hums"}}); resp.code() != "" {
		t.Fatalf("a signed-in customer at the same address: %+v", resp)
	}
	if logs := f.logs.String(); strings.Contains(logs, "violet tractor hums") || !strings.Contains(logs, "req_id") {
		t.Errorf("the logs hold a rated password (or were not captured)")
	}
}

// The create-operator command refuses each weak kind as the API does, with
// the domain's name and slug as context words: those typed for a new
// domain, and the stored ones for an existing domain.
func TestCreateOperatorAppliesThePasswordPolicy(t *testing.T) {
	for _, kind := range commandStores {
		t.Run(kind.name, func(t *testing.T) {
			flags, _ := kind.store(t)
			newDomain := []string{"-domain", "acme", "-domain-name", "Acme Heating", "-role", "ADMIN", "-email", "alex@acme.example", "-name", "Alex Admin"}
			for _, c := range []struct{ password, code string }{
				{"            ", "WHITESPACE_ONLY"},
				{strings.Repeat("\u3164", 12), "WHITESPACE_ONLY"}, // a Hangul filler: it created an ADMIN before
				{strings.Repeat("\u2800 ", 6), "WHITESPACE_ONLY"}, // the braille blank
				{"aaaaaaaaaaaa", "REPETITIVE"},
				{"abcdefghijkl", "SEQUENTIAL"},
				{"Acme-Heating-2025", "CONTEXT_WORD"},
				{"4cm3_H34t1ng_99", "CONTEXT_WORD"},
				{"alex-admin-1990", "CONTEXT_WORD"},
				{"Jennifer2024!", "TOO_GUESSABLE"},
			} {
				_, err := runCreateOperatorTest(t, flags, c.password, newDomain...)
				var ve *apperr.ValidationError
				if !errors.As(err, &ve) || ve.Code != c.code || ve.Field != "password" {
					t.Errorf("%q: %v, want %s on the password", c.password, err, c.code)
				}
				// One plain line naming the flag and the rule, nothing about a server.
				if msg := fmt.Sprint(err); !strings.HasPrefix(msg, "create-operator: the password: ") || !strings.HasSuffix(msg, "("+c.code+")") ||
					strings.Contains(msg, "\n") || strings.Contains(msg, "server") || strings.Contains(msg, "bad command line") {
					t.Errorf("%q: the message %q", c.password, msg)
				}
			}
			if out, err := runCreateOperatorTest(t, flags, "violet tractor hums softly", newDomain...); err != nil {
				t.Fatalf("a strong password: %v (%s)", err, out)
			}
			// On the existing domain, its stored display name is a context word too.
			_, err := runCreateOperatorTest(t, flags, "Heating-Acme-2025", "-domain", "acme", "-email", "sam@acme.example", "-name", "Sam Support")
			var ve *apperr.ValidationError
			if !errors.As(err, &ve) || ve.Code != "CONTEXT_WORD" {
				t.Errorf("the domain's stored name: %v, want CONTEXT_WORD", err)
			}
		})
	}
}

// A checkPassword with a huge typed context is refused at once with the
// code the mutation that stores the field gives (a 175 KB firstName kept a
// core busy for 20 s before), anonymous or not.
func TestCheckPasswordRefusesAHugeContext(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			support := f.login(t, demo.SupportEmail)
			huge := strings.Repeat("Abcdefghij", 17_500) // 175 KB
			for _, c := range []struct {
				token, field, code string
				in                 map[string]any
			}{
				{"", "firstName", "TOO_LONG", map[string]any{"for": "SIGN_UP", "domain": "demo", "firstName": huge}},
				{"", "lastName", "TOO_LONG", map[string]any{"for": "SIGN_UP", "domain": "demo", "lastName": huge}},
				{"", "email", "TOO_LONG", map[string]any{"for": "SIGN_UP", "domain": "demo", "email": huge + "@example.com"}},
				{"", "domain", "TOO_LONG", map[string]any{"for": "SIGN_UP", "domain": huge}},
				{"", "firstName", "INVALID", map[string]any{"for": "SIGN_UP", "domain": "demo", "firstName": "Sam\u202e"}},
				{support, "firstName", "TOO_LONG", map[string]any{"for": "CUSTOMER", "firstName": huge}},
				{support, "email", "TOO_LONG", map[string]any{"for": "CUSTOMER", "email": strings.Repeat("a", 300)}},
			} {
				c.in["password"] = "violet tractor hums softly"
				start := time.Now()
				resp := f.post(t, c.token, checkPasswordMutation, map[string]any{"in": c.in})
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("%s %s: answered in %v", c.in["for"], c.field, d)
				}
				code, field := firstUserError(resp, "checkPassword")
				if code != c.code || field != c.field || dig(resp.Data, "checkPassword", "acceptable") == true {
					t.Errorf("%s with a bad %s: %+v, want %s on %s", c.in["for"], c.field, resp.code(), c.code, c.field)
				}
				if strings.Contains(fmt.Sprint(resp), "Abcdefghij") || strings.Contains(fmt.Sprint(resp), "violet") {
					t.Errorf("%s: the answer echoes the input", c.field)
				}
			}
			// A field being typed (an email not yet whole) is rated with what is there.
			resp := f.post(t, "", checkPasswordMutation, map[string]any{"in": map[string]any{"for": "SIGN_UP", "domain": "demo",
				"firstName": "Olga", "lastName": "Petrova", "email": "olga.pe", "password": "0lg4-P3tr0v4-1985"}})
			if firstCode(resp) != "CONTEXT_WORD" {
				t.Errorf("a password on a name, typed before the email is whole: %+v", resp)
			}
		})
	}
}

// The kinds a tester found accepted are refused through the API, by
// checkPassword and signUp alike, on both stores.
func TestPasswordKindsRefusedThroughTheAPI(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			for i, c := range []struct{ password, code string }{
				{"ééééééééééééé1", "REPETITIVE"},
				{strings.Repeat("🐶🐱", 6) + "1", "REPETITIVE"},
				{strings.Repeat("\u3164", 12), "WHITESPACE_ONLY"},
				{strings.Repeat("\u2800 ", 6), "WHITESPACE_ONLY"},
				{"D3m0_H34t1ng_C0", "CONTEXT_WORD"},
				{"gnitaeh omed 2024", "CONTEXT_WORD"},
				{"José Müllér 2024!!", "CONTEXT_WORD"},
				{"pass\u200bword1234", "COMMON_PASSWORD"},
				{"раssword1234", "COMMON_PASSWORD"},
			} {
				resp := f.post(t, "", checkPasswordMutation, map[string]any{"in": map[string]any{"for": "SIGN_UP", "domain": "demo",
					"firstName": "Jose", "lastName": "Muller", "email": "jm@example.com", "password": c.password}})
				if code, field := firstUserError(resp, "checkPassword"); code != c.code || field != "password" {
					t.Errorf("checkPassword %+q: %+v, want %s", c.password, resp, c.code)
				}
				resp = f.post(t, "", signUpMutation, signUpInput("demo", fmt.Sprintf("kind%d@example.com", i), func(in map[string]any) {
					in["firstName"], in["lastName"], in["password"] = "Jose", "Muller", c.password
				}))
				if code, field := firstUserError(resp, "signUp"); code != c.code || field != "password" {
					t.Errorf("signUp %+q: %+v, want %s", c.password, resp, c.code)
				}
			}
		})
	}
}

// Every per-address limit counts an IPv6 client by its /64 (a client that
// owns one chooses its addresses): the sign-in budget, anonymous ratings
// and sign-ups. Another /64 has its own budget.
func TestIPv6ClientsCountByTheirSlash64(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			storeEdit := kind.edit(t)
			s := startTest(t, func(c *config) {
				if storeEdit != nil {
					storeEdit(c)
				}
				trustLoopback(c)
			})
			for i := range 20 {
				spend(t, s, via(fmt.Sprintf("2001:db8:1:2::%x", i+1)), 1, fmt.Sprint(i))
			}
			if _, _, code := signInVia(t, s, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, "", via("2001:db8:1:2:abcd::1")); code != codeRateLimited {
				t.Errorf("sign-in from a fresh address of a /64 that failed 20 times: %q, want RATE_LIMITED", code)
			}
			if _, _, code := signInVia(t, s, deviceOperatorLoginMutation, demo.AdminEmail, testPassword, "", via("2001:db8:1:3::1")); code == codeRateLimited {
				t.Errorf("sign-in from another /64: %q", code)
			}

			rate := map[string]any{"in": map[string]any{"for": "SIGN_UP", "domain": "demo", "password": "violet tractor hums"}}
			for i := range 60 {
				if resp := postVia(t, s, checkPasswordMutation, rate, via(fmt.Sprintf("2001:db8:5:6:%x::1", i+1))); resp.code() != "" {
					t.Fatalf("rating %d: %+v", i+1, resp)
				}
			}
			if resp := postVia(t, s, checkPasswordMutation, rate, via("2001:db8:5:6:ffff::1")); resp.code() != codeRateLimited {
				t.Errorf("the 61st rating from one /64: %+v", resp)
			}
			if resp := postVia(t, s, checkPasswordMutation, rate, via("2001:db8:5:7::1")); resp.code() != "" {
				t.Errorf("a rating from another /64: %+v", resp)
			}

			for i := range 20 {
				postVia(t, s, signUpMutation, signUpInput("no-such-company", fmt.Sprintf("t%d@example.com", i), nil), via(fmt.Sprintf("2001:db8:9:9::%x", i+1)))
			}
			if resp := postVia(t, s, signUpMutation, signUpInput("demo", "late@example.com", nil), via("2001:db8:9:9:1::1")); resp.code() != codeRateLimited {
				t.Errorf("the 21st sign-up from one /64: %+v", resp)
			}
		})
	}
}

// A password set in one Unicode normalization form signs in with the
// other (NFKC before hashing, NIST SP 800-63B §5.1.1.2), on both stores.
func TestPasswordsAreNormalized(t *testing.T) {
	const nfd, nfc = "Ju\u0308rgen ro\u0308stet Kaffeebohnen", "J\u00fcrgen r\u00f6stet Kaffeebohnen"
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			resp := f.post(t, "", signUpMutation, signUpInput("demo", "nfd@example.com", func(in map[string]any) { in["password"] = nfd }))
			if dig(resp.Data, "signUp", "token") == nil {
				t.Fatalf("sign-up with an NFD password: %+v", resp)
			}
			for _, typed := range []string{nfc, nfd} {
				resp := f.post(t, "", customerLoginMutation, map[string]any{"email": "nfd@example.com", "password": typed})
				if tok, _ := dig(resp.Data, "login", "token").(string); tok == "" {
					t.Errorf("sign-in with %+q: %+v", typed, resp)
				}
			}
			if resp := f.post(t, "", customerLoginMutation, map[string]any{"email": "nfd@example.com", "password": "Jurgen rostet Kaffeebohnen"}); dig(resp.Data, "login", "token") != nil {
				t.Errorf("the password without accents signed in")
			}
		})
	}
}
