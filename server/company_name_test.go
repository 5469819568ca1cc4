package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/store/storetest"
)

// A person may type the company's display name wherever the API takes a
// domain from someone signing in or up: login, signUpOpen, signUp.
func TestCompanyDisplayNameAtSignInAndSignUp(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			resp := f.post(t, "", `mutation($d: String!, $e: String!, $p: String!) {
			  login(input: {domain: $d, email: $e, password: $p}) { token userErrors { code } } }`,
				map[string]any{"d": "  demo heating co. ", "e": customerEmail, "p": customerPassword})
			if dig(resp.Data, "login", "token") == nil {
				t.Fatalf("sign-in by the company's name: %+v", resp)
			}
			if resp := f.post(t, "", `query($d: String!) { signUpOpen(domain: $d) }`, map[string]any{"d": "DEMO HEATING CO."}); dig(resp.Data, "signUpOpen") != true {
				t.Errorf("signUpOpen by the company's name: %+v", resp)
			}
			if resp := f.post(t, "", `query($d: String!) { signUpOpen(domain: $d) }`, map[string]any{"d": "Demo Heating"}); dig(resp.Data, "signUpOpen") != false {
				t.Errorf("signUpOpen by part of the name: %+v", resp)
			}
			// What a sign-in page shows for a link's company: the company's own name, or nothing;
			// looking up names of no company is budgeted per address (enumeration).
			for typed, want := range map[string]any{"demo": "Demo Heating Co.", " DEMO HEATING CO. ": "Demo Heating Co.", "Call +1-900-555-0100": nil, "Demo Heating": nil} {
				if resp := f.post(t, "", `query($d: String!) { companyName(domain: $d) }`, map[string]any{"d": typed}); len(resp.Errors) > 0 || dig(resp.Data, "companyName") != want {
					t.Errorf("companyName(%q): %+v, want %v", typed, resp, want)
				}
			}
			resp = f.post(t, "", signUpMutation, signUpInput("Demo Heating Co.", "named@example.com", nil))
			if dig(resp.Data, "signUp", "token") == nil {
				t.Fatalf("sign-up by the company's name: %+v", resp)
			}
			const lookup = `query($d: String!) { companyName(domain: $d) }`
			limited := 0
			for i := range 20 { // 2 unknown names above, 20 more: the 21st unknown is refused
				if resp := f.post(t, "", lookup, map[string]any{"d": fmt.Sprint("guess-", i)}); resp.code() == codeRateLimited {
					limited++
				}
			}
			if limited == 0 {
				t.Error("22 look-ups of companies that do not exist, none refused")
			}
			if resp := f.post(t, "", lookup, map[string]any{"d": "demo"}); resp.code() != codeRateLimited {
				t.Errorf("a known company during the back-off: %+v, want RATE_LIMITED", resp)
			}
		})
	}
}

// Another domain's ADMIN cannot take a name a domain signs in with (its
// display name, in any case or in look-alike letters and spaces, or its
// slug): sign-in by name keeps working.
// Its own name in another case is a rename like any other.
func TestADomainCannotTakeAnothersName(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			other := storetest.NewDomain(t, f.store)
			addOperator(t, f, other.ID, "admin@other.test")
			resp := f.post(t, "", loginMutation, map[string]any{"domain": other.Slug, "email": "admin@other.test", "password": testPassword})
			intruder, _ := dig(resp.Data, "operatorLogin", "token").(string)
			for _, name := range []string{"Demo Heating Co.", "DEMO HEATING CO.", " demo heating co. ", "demo", "DEMO",
				// A try-out took each of these as a new name, shown to
				// customers exactly as the other company's:
				"Demo\u00a0Heating Co.", "demo  heating co.", "Ｄｅｍｏ Heating Co.", "Demo Heatıng Co.", "DEMO HEATİNG CO.", "D\u0435mo Heating Co."} {
				resp := f.post(t, intruder, settingsMutation, map[string]any{"in": map[string]any{"name": name}})
				if userError(resp, "updateDomainSettings") != "NAME_TAKEN" || dig(resp.Data, "updateDomainSettings", "changed") != false {
					t.Errorf("another domain renamed to %q: %+v", name, resp)
				}
			}
			if d, _ := f.store.DomainByID(context.Background(), other.ID); d.Name != other.Name {
				t.Errorf("a refused rename was stored: %q", d.Name)
			}
			resp = f.post(t, "", `mutation($d: String!, $e: String!, $p: String!) {
			  login(input: {domain: $d, email: $e, password: $p}) { token } }`,
				map[string]any{"d": "Demo Heating Co.", "e": customerEmail, "p": customerPassword})
			if dig(resp.Data, "login", "token") == nil {
				t.Fatalf("sign-in by the company's name after the attempts: %+v", resp)
			}
			resp = f.post(t, intruder, settingsMutation, map[string]any{"in": map[string]any{"name": strings.ToUpper(other.Name)}})
			if dig(resp.Data, "updateDomainSettings", "changed") != true {
				t.Errorf("a domain's own name in capitals: %+v", resp)
			}
			// The audit record says what the setting was and became.
			records := auditEntries(t, f, intruder, "domain_updated")
			want := fmt.Sprintf("changed: name %q → %q", other.Name, strings.ToUpper(other.Name))
			if len(records) != 1 || records[0]["reason"] != want {
				t.Errorf("the rename's records: %v, want one with reason %s", records, want)
			}
		})
	}
}
