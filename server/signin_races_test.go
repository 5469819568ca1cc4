package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/mongotest"
)

// Attempts racing a limit (the tester's report: 40 sign-ins at once for one
// account were all answered). Every throttled secret check takes the
// attempt from its allowance before the costly check, atomically, so that
// exactly the documented number is answered and the rest are RATE_LIMITED.

// raceRequests sends n GraphQL requests at once (request i from
// instances[i % len]) and returns each one's outcome: "" for a success, else
// the error's code or the first userError's code of field.
func raceRequests(t *testing.T, instances []*testInstance, n int, field string, request func(i int) (token, query string, vars map[string]any, headers map[string]string)) []string {
	t.Helper()
	out := make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token, query, vars, headers := request(i)
			body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
			req, _ := http.NewRequest(http.MethodPost, instances[i%len(instances)].URL()+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var r gqlResponse
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Error(err)
				return
			}
			if out[i] = r.code(); out[i] == "" {
				out[i] = userError(r, field)
			}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// tally counts outcomes: "INVALID_CREDENTIALS" -> 5, ...
func tally(outcomes []string) map[string]int {
	m := map[string]int{}
	for _, o := range outcomes {
		m[o]++
	}
	return m
}

// wantTally fails unless outcomes are exactly answered x answeredCode and
// the rest RATE_LIMITED.
func wantTally(t *testing.T, what string, outcomes []string, answeredCode string, answered int) {
	t.Helper()
	got := tally(outcomes)
	if got[answeredCode] != answered || got[codeRateLimited] != len(outcomes)-answered {
		t.Fatalf("%s: %d at once answered %v, want %d %s and %d %s", what, len(outcomes), got, answered, answeredCode, len(outcomes)-answered, codeRateLimited)
	}
}

// skipRacesOnFerretDB skips a race on the Mongo store when its test server
// is FerretDB, whose conditional updates are not atomic under concurrent
// writers (docs: FERRETDB.md); on MongoDB (MONGODB_URI) the race runs.
func skipRacesOnFerretDB(t *testing.T, kind string) {
	if kind == "mongo" {
		mongotest.SkipIfFerretDB(t)
	}
}

// Login per account, per address, per device token: 40 at once; on both
// stores.
func TestConcurrentSignInsAreCountedBeforeTheCheck(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			skipRacesOnFerretDB(t, kind.name)
			edit := kind.edit(t)
			f := newAccountFixture(t, func(c *config) {
				if edit != nil {
					edit(c)
				}
				trustLoopback(c)
			})
			admin := f.login(t, demo.AdminEmail)
			_, device, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, customerPassword, "", via("192.0.2.50"))
			if code != "" || device == "" {
				t.Fatalf("first sign-in: %q", code)
			}
			one := []*testInstance{f.testInstance}

			// One account, each attempt from its own address: exactly 5
			// answered, one lock-out record.
			outcomes := raceRequests(t, one, 40, "login", func(i int) (string, string, map[string]any, map[string]string) {
				return "", customerLoginMutation, map[string]any{"email": customerEmail, "password": fmt.Sprintf("guess %d", i)}, via(fmt.Sprintf("192.0.2.%d", 100+i))
			})
			wantTally(t, "one account", outcomes, "INVALID_CREDENTIALS", 5)
			if locks := auditEntries(t, f, admin, "authn_login_lock"); len(locks) != 1 {
				t.Fatalf("lock-out records after one burst: %d, want 1", len(locks))
			}

			// One address, unknown accounts: exactly its budget of 20, the
			// wait after it at most 30 s, one lock-out record for it.
			outcomes = raceRequests(t, one, 40, "login", func(i int) (string, string, map[string]any, map[string]string) {
				return "", customerLoginMutation, map[string]any{"email": fmt.Sprintf("stuffed-%d@example.com", i), "password": "not it"}, via("198.51.100.60")
			})
			wantTally(t, "one address", outcomes, "INVALID_CREDENTIALS", 20)
			resp := postVia(t, f.testInstance, customerLoginMutation, map[string]any{"email": "one-more@example.com", "password": "not it"}, via("198.51.100.60"))
			if secs, _ := resp.Errors[0].Extensions["retryAfterSeconds"].(float64); resp.code() != codeRateLimited || secs < 1 || secs > 30 {
				t.Fatalf("after a burst from one address: %+v, want RATE_LIMITED for at most 30 s", resp)
			}
			addressLocks := 0
			for _, l := range auditEntries(t, f, admin, "authn_login_lock") {
				if l["targetType"] == "CLIENT_ADDRESS" || strings.Contains(fmt.Sprint(l["reason"]), "from the address") {
					addressLocks++
				}
			}
			if addressLocks != 1 {
				t.Fatalf("lock-out records of the address after one burst: %d, want 1", addressLocks)
			}

			// One device token, wrong passwords: its own 5.
			outcomes = raceRequests(t, one, 40, "login", func(i int) (string, string, map[string]any, map[string]string) {
				return "", deviceLoginMutation, map[string]any{"email": customerEmail, "password": fmt.Sprintf("guess %d", i), "device": device}, via("192.0.2.50")
			})
			wantTally(t, "one device token", outcomes, "INVALID_CREDENTIALS", 5)
		})
	}
}

// verifyOperatorMfa, changePassword and an operator's current password: 40
// at once; on both stores.
func TestConcurrentSecondFactorsAndPasswordChecksAreCounted(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			skipRacesOnFerretDB(t, kind.name)
			f := newAccountFixture(t, kind.edit(t))
			admin := f.login(t, demo.AdminEmail)
			enrollTOTP(t, f.testInstance, admin)
			c := challenge(t, f.testInstance, demo.AdminEmail, testPassword)
			one := []*testInstance{f.testInstance}
			outcomes := raceRequests(t, one, 40, "verifyOperatorMfa", func(i int) (string, string, map[string]any, map[string]string) {
				return "", verifyMutation, map[string]any{"challenge": c, "code": "000000"}, nil
			})
			wantTally(t, "verifyOperatorMfa", outcomes, "INVALID_CODE", 5)

			own, code, _ := f.customerLogin(t, customerPassword)
			if own == "" {
				t.Fatalf("customer sign-in: %s", code)
			}
			outcomes = raceRequests(t, one, 40, "changePassword", func(i int) (string, string, map[string]any, map[string]string) {
				return own, `mutation($cur: String!) { changePassword(input: {currentPassword: $cur, newPassword: "a brand new passphrase"}) { token userErrors { code } } }`,
					map[string]any{"cur": fmt.Sprintf("not it %d", i)}, nil
			})
			wantTally(t, "changePassword", outcomes, "INVALID_CREDENTIALS", 5)

			// An operator's current password (changeOperatorPassword, and
			// disableTotp's password and code, one allowance): 5 answered.
			support := f.login(t, demo.SupportEmail)
			outcomes = raceRequests(t, one, 40, "changeOperatorPassword", func(i int) (string, string, map[string]any, map[string]string) {
				return support, `mutation($cur: String!) { changeOperatorPassword(input: {currentPassword: $cur, newPassword: "a brand new passphrase"}) { token userErrors { code } } }`,
					map[string]any{"cur": fmt.Sprintf("not it %d", i)}, nil
			})
			wantTally(t, "changeOperatorPassword", outcomes, "WRONG_PASSWORD", 5)
			// disableTotp shares it: refused during the back-off (the 1 s one
			// may have run out while the refusals were held: then the 6th
			// attempt is answered and starts 2 s, refusing the 7th).
			disable := func() gqlResponse {
				return f.post(t, support, `mutation { disableTotp(input: {password: "not it", code: "000000"}) { userErrors { code } } }`, nil)
			}
			if resp := disable(); resp.code() != codeRateLimited {
				if userError(resp, "disableTotp") != "WRONG_PASSWORD" {
					t.Fatalf("disableTotp after 5 wrong current passwords: %+v", resp)
				}
				if resp := disable(); resp.code() != codeRateLimited {
					t.Fatalf("disableTotp after 6 wrong current passwords: %+v, want RATE_LIMITED", resp)
				}
			}
		})
	}
}

// Two instances on one MongoDB: 60 attempts at once for one account, spread
// over both, are answered 5 times in all.
func TestConcurrentSignInsAcrossInstances(t *testing.T) {
	mongotest.SkipIfFerretDB(t)
	uri := mongotest.URI(t)
	edit := func(c *config) { c.MongoURI = uri; trustLoopback(c) }
	a := newAccountFixture(t, edit)
	b := addCustomer(t, startTest(t, edit))
	outcomes := raceRequests(t, []*testInstance{a.testInstance, b.testInstance}, 60, "login", func(i int) (string, string, map[string]any, map[string]string) {
		return "", customerLoginMutation, map[string]any{"email": customerEmail, "password": fmt.Sprintf("guess %d", i)}, via(fmt.Sprintf("192.0.2.%d", 100+i))
	})
	wantTally(t, "one account on two instances", outcomes, "INVALID_CREDENTIALS", 5)
}

// The 15-minute cap repeats: waiting it out does not give the free tries
// back; only a day without a failure does (README: Sign-in protection).
// With the injected clock, on both stores.
func TestBackOffCapRepeatsUntilADayOfQuiet(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			edit := kind.edit(t)
			f := newAccountFixture(t, func(c *config) {
				if edit != nil {
					edit(c)
				}
				trustLoopback(c)
			})
			attempt := 0
			// guess makes one wrong attempt from an address of its own (no
			// address's budget is spent out) and returns its code and wait.
			guess := func() (string, int) {
				attempt++
				resp := postVia(t, f.testInstance, customerLoginMutation, map[string]any{"email": customerEmail, "password": fmt.Sprintf("guess %d", attempt)},
					via(fmt.Sprintf("192.0.2.%d", attempt%250+1)))
				if resp.code() == codeRateLimited {
					secs, _ := resp.Errors[0].Extensions["retryAfterSeconds"].(float64)
					return codeRateLimited, int(secs)
				}
				return userError(resp, "login"), 0
			}
			// Up to the cap: 1 s, 2 s, ... 512 s, then 900 s.
			waits := []int{}
			for len(waits) == 0 || waits[len(waits)-1] < 900 {
				code, wait := guess()
				if code == codeRateLimited {
					waits = append(waits, wait)
					f.clock.Advance(time.Duration(wait) * time.Second)
				} else if code != "INVALID_CREDENTIALS" {
					t.Fatalf("attempt %d: %q", attempt, code)
				}
			}
			if fmt.Sprint(waits) != "[1 2 4 8 16 32 64 128 256 512 900]" {
				t.Fatalf("back-offs %v", waits)
			}
			// Each 15-minute wait waited out: one guess, then 15 min again.
			for i := range 3 {
				if code, _ := guess(); code != "INVALID_CREDENTIALS" {
					t.Fatalf("the guess after cap %d: %q", i+1, code)
				}
				if code, wait := guess(); code != codeRateLimited || wait != 900 {
					t.Fatalf("after cap %d: %q %d s, want RATE_LIMITED for 900 s (no free tries again)", i+1, code, wait)
				}
				f.clock.Advance(900 * time.Second)
			}
			// Just short of a day without a failure: still the cap.
			f.clock.Advance(24*time.Hour - 2*900*time.Second)
			if code, _ := guess(); code != "INVALID_CREDENTIALS" {
				t.Fatalf("the guess at 23 h 45 min of quiet: %q", code)
			}
			if code, wait := guess(); code != codeRateLimited || wait != 900 {
				t.Fatalf("after 23 h 45 min of quiet: %q %d s, want RATE_LIMITED for 900 s", code, wait)
			}
			// A day without a failure (24 h after the last): afresh, 5 answered.
			f.clock.Advance(24*time.Hour + time.Second)
			for i := range 5 {
				if code, _ := guess(); code != "INVALID_CREDENTIALS" {
					t.Fatalf("free try %d after a day of quiet: %q", i+1, code)
				}
			}
			if code, wait := guess(); code != codeRateLimited || wait != 1 {
				t.Fatalf("the 6th after a day of quiet: %q %d s, want RATE_LIMITED for 1 s", code, wait)
			}
		})
	}
}
