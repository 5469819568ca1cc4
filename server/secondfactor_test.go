package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/iotconsole/bff/internal/demo"
)

const (
	enrollMutation  = `mutation { enrollTotp { otpauthUri qrCode secret userErrors { code } } }`
	confirmMutation = `mutation($code: String!) { confirmTotp(input: {code: $code}) { recoveryCodes token operator { totpEnabled } userErrors { code message } } }`
	verifyMutation  = `mutation($challenge: String!, $code: String!) {
  verifyOperatorMfa(input: {challenge: $challenge, code: $code}) { token operator { email } userErrors { code } }
}`
	settingsMutation = `mutation($in: UpdateDomainSettingsInput!) {
  updateDomainSettings(input: $in) { changed domain { requireOperatorMfa assistTtlSeconds passwordMinLength defaultRegion signUpPolicy } userErrors { field code } }
}`
)

// enrollTOTP sets an authenticator app up for the operator of token at the
// instance's time and returns its secret, the recovery codes and the new
// (verified) session.
func enrollTOTP(t *testing.T, s *testInstance, token string) (string, []string, string) {
	t.Helper()
	resp := s.post(t, token, enrollMutation, nil)
	secret, _ := dig(resp.Data, "enrollTotp", "secret").(string)
	uri, _ := dig(resp.Data, "enrollTotp", "otpauthUri").(string)
	qr, _ := dig(resp.Data, "enrollTotp", "qrCode").(string)
	if secret == "" || !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("enrollTotp: %+v", resp)
	}
	if u, err := url.Parse(uri); err != nil || u.Query().Get("issuer") != "Demo Heating Co. (IoT Console)" {
		t.Errorf("the authenticator's issuer in %q (%v), want the company's name and the product's", uri, err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(qr, "data:image/png;base64,"))
	if img, perr := png.Decode(bytes.NewReader(raw)); err != nil || perr != nil || img.Bounds().Dx() != 256 {
		t.Fatalf("the QR code is not a 256 px PNG: %v %v", err, perr)
	}
	if resp := s.post(t, token, confirmMutation, map[string]any{"code": "000000"}); userError(resp, "confirmTotp") != "INVALID_CODE" ||
		strings.Contains(fmt.Sprint(dig(resp.Data, "confirmTotp", "userErrors")), "recovery") {
		t.Errorf("confirm with a wrong code (there are no recovery codes yet): %+v", resp)
	}
	code, _ := totp.GenerateCode(secret, s.clock.Now())
	resp = s.post(t, token, confirmMutation, map[string]any{"code": code})
	fresh, _ := dig(resp.Data, "confirmTotp", "token").(string)
	raws, _ := dig(resp.Data, "confirmTotp", "recoveryCodes").([]any)
	if fresh == "" || len(raws) != 10 || dig(resp.Data, "confirmTotp", "operator", "totpEnabled") != true {
		t.Fatalf("confirmTotp: %+v", resp)
	}
	var codes []string
	for _, c := range raws {
		codes = append(codes, c.(string))
	}
	return secret, codes, fresh
}

// challenge signs in with the password and returns the second factor's
// challenge (failing when none is asked for).
func challenge(t *testing.T, s *testInstance, email, password string) string {
	t.Helper()
	_, resp := operatorSignIn(t, s, email, password)
	c, _ := dig(resp.Data, "operatorLogin", "challenge").(string)
	if dig(resp.Data, "operatorLogin", "mfaRequired") != true || c == "" || dig(resp.Data, "operatorLogin", "token") != nil {
		t.Fatalf("sign-in of an operator with a second factor: %+v", resp)
	}
	return c
}

// A second factor: set up with a QR code, asked at every sign-in, each code
// and each recovery code good once, wrong codes backing off, turned off by
// its operator or reset by an ADMIN; on both stores.
func TestOperatorSecondFactor(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := newAccountFixture(t, kind.edit(t)).testInstance
			admin := s.login(t, demo.AdminEmail)
			// The set-up's code is replayed below by generating it again:
			// both must fall in one 30 s TOTP step (RFC 6238), or the second
			// is the next step's, a new and valid code (a flake seen in CI).
			for s.clock.Now().Unix()%30 > 20 {
				time.Sleep(200 * time.Millisecond)
			}
			secret, recovery, verified := enrollTOTP(t, s, admin) // the session of the password alone ends
			if resp := s.post(t, verified, enrollMutation, nil); userError(resp, "enrollTotp") != "ALREADY_ENABLED" {
				t.Errorf("a second enrolment: %+v", resp)
			}

			c := challenge(t, s, demo.AdminEmail, testPassword)
			if resp := s.post(t, c, `{ viewer { __typename } }`, nil); resp.code() != "UNAUTHENTICATED" {
				t.Errorf("the challenge used as a session: %+v", resp)
			}
			code, _ := totp.GenerateCode(secret, s.clock.Now())
			if resp := s.post(t, "", verifyMutation, map[string]any{"challenge": c, "code": code}); userError(resp, "verifyOperatorMfa") != "CODE_USED" {
				t.Errorf("the code the set-up used, again: %+v", resp)
			}
			if logs := s.logs.String(); !strings.Contains(logs, `"op":"authn_mfa_fail"`) || strings.Contains(logs, code) {
				t.Errorf("a refused code is not logged at warn level, or the log holds the code: %s", logs)
			}
			resp := s.post(t, "", verifyMutation, map[string]any{"challenge": c, "code": strings.ToUpper(recovery[3])})
			token, _ := dig(resp.Data, "verifyOperatorMfa", "token").(string)
			if token == "" {
				t.Fatalf("a recovery code: %+v", resp)
			}
			if resp := s.post(t, token, `{ viewer { ... on Operator { email totpEnabled } } }`, nil); dig(resp.Data, "viewer", "totpEnabled") != true {
				t.Errorf("the verified session: %+v", resp)
			}
			if resp := s.post(t, "", verifyMutation, map[string]any{"challenge": c, "code": code}); userError(resp, "verifyOperatorMfa") != "INVALID_CHALLENGE" {
				t.Errorf("a challenge used twice: %+v", resp)
			}
			c = challenge(t, s, demo.AdminEmail, testPassword)
			if resp := s.post(t, "", verifyMutation, map[string]any{"challenge": c, "code": recovery[3]}); userError(resp, "verifyOperatorMfa") != "INVALID_CODE" {
				t.Errorf("a recovery code used twice: %+v", resp)
			}
			s.clock.Advance(30 * time.Second) // the next code
			code, _ = totp.GenerateCode(secret, s.clock.Now())
			if resp := s.post(t, "", verifyMutation, map[string]any{"challenge": c, "code": code}); dig(resp.Data, "verifyOperatorMfa", "token") == nil {
				t.Errorf("the next code: %+v", resp)
			}

			// Wrong codes back off like wrong passwords, and are audited.
			c = challenge(t, s, demo.AdminEmail, testPassword)
			refused := false
			for i := 0; i < 10 && !refused; i++ {
				resp := s.post(t, "", verifyMutation, map[string]any{"challenge": c, "code": "123456"})
				refused = resp.code() == "RATE_LIMITED" || userError(resp, "verifyOperatorMfa") == "RATE_LIMITED"
			}
			if !refused {
				t.Error("10 wrong codes in a row were never refused")
			}

			// Not its own: that is turned off in Security.
			self := s.post(t, token, `{ viewer { ... on Operator { id } } }`, nil)
			resp = s.post(t, token, `mutation($id: ID!) { resetOperatorMfa(input: {operatorId: $id}) { userErrors { code message } } }`,
				map[string]any{"id": dig(self.Data, "viewer", "id")})
			if userError(resp, "resetOperatorMfa") != "SELF" || !strings.Contains(fmt.Sprint(dig(resp.Data, "resetOperatorMfa", "userErrors")), "second factor") {
				t.Errorf("an ADMIN resetting its own second factor: %+v", resp)
			}
			// An ADMIN resets another operator's second factor: its sessions end.
			support := s.login(t, demo.SupportEmail)
			_, _, supportVerified := enrollTOTP(t, s, support)
			ops := s.post(t, token, operatorsQuery, map[string]any{"q": "support"})
			sid, _ := dig(ops.Data, "operators", "edges").([]any)
			if len(sid) != 1 {
				t.Fatalf("operators: %+v", ops)
			}
			resp = s.post(t, token, `mutation($id: ID!) { resetOperatorMfa(input: {operatorId: $id}) { operator { totpEnabled } userErrors { code } } }`,
				map[string]any{"id": dig(sid[0], "node", "id")})
			if dig(resp.Data, "resetOperatorMfa", "operator", "totpEnabled") != false {
				t.Fatalf("reset: %+v", resp)
			}
			resp = s.post(t, token, `mutation($id: ID!) { resetOperatorMfa(input: {operatorId: $id}) { userErrors { field code } } }`,
				map[string]any{"id": dig(sid[0], "node", "id")})
			if fmt.Sprint(dig(resp.Data, "resetOperatorMfa", "userErrors")) != "[map[code:NOT_ENABLED field:[operatorId]]]" {
				t.Errorf("a reset with no second factor on: %+v, want NOT_ENABLED on the operatorId the input has", resp)
			}
			if resp := s.post(t, supportVerified, `{ viewer { __typename } }`, nil); resp.code() != "UNAUTHENTICATED" {
				t.Errorf("the operator's session after the reset: %+v", resp)
			}
			if token, _ := operatorSignIn(t, s, demo.SupportEmail, testPassword); token == "" {
				t.Error("after the reset the password alone signs in")
			}

			// Its operator turns it off with the password and a code.
			s.clock.Advance(30 * time.Second)
			code, _ = totp.GenerateCode(secret, s.clock.Now())
			disable := `mutation($p: String!, $c: String!) { disableTotp(input: {password: $p, code: $c}) { operator { totpEnabled } userErrors { field code } } }`
			if resp := s.post(t, token, disable, map[string]any{"p": "wrong", "c": code}); userError(resp, "disableTotp") != "WRONG_PASSWORD" ||
				fmt.Sprint(dig(resp.Data, "disableTotp", "userErrors")) != "[map[code:WRONG_PASSWORD field:[password]]]" {
				t.Errorf("disable with a wrong password (at the input's field, password): %+v", resp)
			}
			adminID, _ := dig(self.Data, "viewer", "id").(string)
			if got := lastAuditOf(t, s, token, adminID); got != "authn_mfa_disabled failure: wrong password" {
				t.Errorf("the audit record of a wrong password: %q", got)
			}
			if resp := s.post(t, token, disable, map[string]any{"p": testPassword, "c": "000000"}); userError(resp, "disableTotp") != "INVALID_CODE" {
				t.Errorf("disable with a wrong code: %+v", resp)
			}
			if got := lastAuditOf(t, s, token, adminID); got != "authn_mfa_disabled failure: wrong code: INVALID_CODE" {
				t.Errorf("the audit record of a wrong code: %q", got)
			}
			if resp := s.post(t, token, disable, map[string]any{"p": testPassword, "c": code}); dig(resp.Data, "disableTotp", "operator", "totpEnabled") != false {
				t.Errorf("disable: %+v", resp)
			}
		})
	}
}

// A domain that requires a second factor: an operator without one may only
// set one up; privileged mutations refuse sessions not verified by one;
// the settings apply at once and are validated.
func TestDomainRequiresSecondFactor(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			s := f.testInstance
			admin, support := s.login(t, demo.AdminEmail), s.login(t, demo.SupportEmail)
			for _, bad := range []struct {
				in    map[string]any
				field string
			}{
				{map[string]any{"defaultRegion": "XX"}, "defaultRegion"}, {map[string]any{"assistTtlSeconds": 5}, "assistTtlSeconds"},
				{map[string]any{"passwordMinLength": 7}, "passwordMinLength"}, {map[string]any{"name": " "}, "name"},
			} {
				resp := s.post(t, admin, settingsMutation, map[string]any{"in": bad.in})
				if errs, _ := dig(resp.Data, "updateDomainSettings", "userErrors").([]any); len(errs) == 0 || fmt.Sprint(dig(errs[0], "field")) != "["+bad.field+"]" {
					t.Errorf("settings %v: %+v", bad.in, resp)
				}
			}
			// Every bad value at once, one userError each.
			resp := s.post(t, admin, settingsMutation, map[string]any{"in": map[string]any{"passwordMinLength": 99, "assistTtlSeconds": 5, "defaultRegion": "XX"}})
			if errs, _ := dig(resp.Data, "updateDomainSettings", "userErrors").([]any); len(errs) != 3 {
				t.Errorf("three bad settings at once: %+v", resp)
			}
			if resp := s.post(t, support, settingsMutation, map[string]any{"in": map[string]any{"requireOperatorMfa": true}}); resp.code() != "FORBIDDEN" {
				t.Errorf("SUPPORT changes the settings: %+v", resp)
			}
			// An ADMIN session opened without a second factor may not require one.
			if resp := s.post(t, admin, settingsMutation, map[string]any{"in": map[string]any{"requireOperatorMfa": true}}); userError(resp, "updateDomainSettings") != "SECOND_FACTOR_REQUIRED" {
				t.Errorf("requiring a second factor without one: %+v", resp)
			}
			// The ADMIN sets an app up first; SUPPORT has none, a socket open
			// and an assistance running.
			_, _, adminVerified := enrollTOTP(t, s, admin)
			assistID, ticket := f.startAssist(t, support, "help before the policy")
			assistToken, code := f.redeem(t, ticket)
			if code != "" {
				t.Fatalf("redeem: %s", code)
			}
			sock, _, err := dialWS(t, s, "graphql-transport-ws", "")
			if err != nil {
				t.Fatal(err)
			}
			if ack, err := sock.init(map[string]any{"token": support}); err != nil || ack["type"] != "connection_ack" {
				t.Fatalf("init: %v %v", ack, err)
			}
			resp = s.post(t, adminVerified, settingsMutation, map[string]any{"in": map[string]any{"requireOperatorMfa": true, "assistTtlSeconds": 600, "passwordMinLength": 20, "assistConsent": "NONE"}})
			if dig(resp.Data, "updateDomainSettings", "changed") != true || dig(resp.Data, "updateDomainSettings", "domain", "requireOperatorMfa") != true {
				t.Fatalf("settings: %+v", resp)
			}

			// The sessions opened without a second factor end at once, for
			// reading too, and their sockets close; one opened with it goes on.
			for name, token := range map[string]string{"SUPPORT": support, "the ADMIN's first": admin} {
				if resp := s.post(t, token, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"}); resp.code() != codeUnauthenticated {
					t.Errorf("setAccountStatus by %s session: %+v", name, resp)
				}
				if resp := s.post(t, token, customersQuery, map[string]any{"first": 1}); resp.code() != codeUnauthenticated {
					t.Errorf("search by %s session: %+v", name, resp)
				}
			}
			_, err = sock.nextWithin(5 * time.Second)
			for err == nil {
				_, err = sock.nextWithin(5 * time.Second)
			}
			if closeCode(err) != closeUnauthorized {
				t.Errorf("the socket of a session without a second factor: %v, want close 4401", err)
			}
			if resp := s.post(t, adminVerified, customersQuery, map[string]any{"first": 1}); len(resp.Errors) > 0 {
				t.Errorf("search by a session opened with a second factor: %+v", resp)
			}
			// So does the assistance that SUPPORT started without one: its
			// token reads nothing more (the reaction to the event is a moment
			// behind the answer).
			state := func() any {
				resp := s.post(t, adminVerified, `query($id: ID!) { node(id: $id) { ... on AssistSession { state } } }`, map[string]any{"id": assistID})
				return dig(resp.Data, "node", "state")
			}
			for deadline := time.Now().Add(5 * time.Second); state() != "REVOKED" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			}
			if got := state(); got != "REVOKED" {
				t.Errorf("the assistance started without a second factor: %v, want REVOKED", got)
			}
			if resp := s.post(t, assistToken, `{ viewer { ... on Customer { email } } }`, nil); resp.code() != codeUnauthenticated {
				t.Errorf("the assistance's token after the policy: %+v", resp)
			}
			// A new sign-in may only enrol; then it acts, with the domain's settings.
			token, resp := operatorSignIn(t, s, demo.SupportEmail, testPassword)
			if dig(resp.Data, "operatorLogin", "mustEnrollMfa") != true || dig(resp.Data, "operatorLogin", "deviceToken") != nil {
				t.Fatalf("sign-in under the policy (may only set an app up, no device token for the password alone): %+v", resp)
			}
			if resp := s.post(t, token, customersQuery, map[string]any{"first": 1}); resp.code() != "FORBIDDEN" {
				t.Errorf("an enrol-only session searches: %+v", resp)
			}
			viewer := s.post(t, token, `{ viewer { ... on Operator { id permissions } } }`, nil)
			supportID, _ := dig(viewer.Data, "viewer", "id").(string)
			if perms, _ := dig(viewer.Data, "viewer", "permissions").([]any); perms == nil || len(perms) != 0 {
				t.Errorf("an enrol-only session's viewer lists permissions none of which it has: %+v", viewer)
			}
			if got := lastAuditOf(t, s, adminVerified, supportID); got != "authz_fail failure: not permitted for the caller's role or session" {
				t.Errorf("the audit record of an enrol-only session's refusal: %q", got)
			}
			supportSecret, _, verified := enrollTOTP(t, s, token)
			resp = s.post(t, verified, `mutation($id: ID!) { startAssist(input: {customerId: $id, reason: "help"}) { ticket assistSession { startedAt expiresAt } } }`,
				map[string]any{"id": f.customerID()})
			if dig(resp.Data, "startAssist", "ticket") == nil {
				t.Fatalf("startAssist with a second factor: %+v", resp)
			}
			started, _ := time.Parse(time.RFC3339Nano, dig(resp.Data, "startAssist", "assistSession", "startedAt").(string))
			expires, _ := time.Parse(time.RFC3339Nano, dig(resp.Data, "startAssist", "assistSession", "expiresAt").(string))
			if expires.Sub(started) != 10*time.Minute {
				t.Errorf("the assistance lasts %v, want the domain's 10 minutes", expires.Sub(started))
			}
			reset := s.post(t, verified, `mutation($id: ID!, $p: String!) { resetPassword(input: {customerId: $id, newPassword: $p, confirmPassword: $p}) { userErrors { field code } } }`,
				map[string]any{"id": f.customerID(), "p": "only sixteen chr"})
			if userError(reset, "resetPassword") != "TOO_SHORT" {
				t.Errorf("a password under the domain's 20 characters: %+v", reset)
			}
			// Its operator turns the second factor off: the sessions it verified end.
			s.clock.Advance(30 * time.Second)
			supportCode, _ := totp.GenerateCode(supportSecret, s.clock.Now())
			resp = s.post(t, verified, `mutation($p: String!, $c: String!) { disableTotp(input: {password: $p, code: $c}) { operator { totpEnabled } userErrors { code } } }`,
				map[string]any{"p": testPassword, "c": supportCode})
			if dig(resp.Data, "disableTotp", "operator", "totpEnabled") != false {
				t.Fatalf("disable under the policy: %+v", resp)
			}
			if resp := s.post(t, verified, customersQuery, map[string]any{"first": 1}); resp.code() != codeUnauthenticated {
				t.Errorf("the session after turning the required second factor off: %+v", resp)
			}
		})
	}
}
