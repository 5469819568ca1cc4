package main

import "testing"

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
			resp = f.post(t, "", signUpMutation, signUpInput("Demo Heating Co.", "named@example.com", nil))
			if dig(resp.Data, "signUp", "token") == nil {
				t.Fatalf("sign-up by the company's name: %+v", resp)
			}
		})
	}
}
