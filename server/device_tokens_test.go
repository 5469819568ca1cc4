package main

import (
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/iotconsole/bff/internal/demo"
)

// Device tokens come with a completed sign-in only (not with the password
// alone when a second factor is asked), and a password change hands out a
// new one (it ended the old with the other sessions); on both stores.
func TestDeviceTokensComeWithCompletedSignInsAndPasswordChanges(t *testing.T) {
	const (
		opLogin = `mutation($email: String!, $password: String!, $device: String) {
  operatorLogin(input: {domain: "demo", email: $email, password: $password, deviceToken: $device}) { token deviceToken mfaRequired challenge userErrors { code } } }`
		verify = `mutation($challenge: String!, $code: String!, $device: String) {
  verifyOperatorMfa(input: {challenge: $challenge, code: $code, deviceToken: $device}) { token deviceToken userErrors { code } } }`
		change   = `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token deviceToken userErrors { code } } }`
		opChange = `mutation($c: String!, $n: String!) { changeOperatorPassword(input: {currentPassword: $c, newPassword: $n}) { token deviceToken userErrors { code } } }`
	)
	str := func(v any) string { s, _ := v.(string); return s }
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			admin := f.login(t, demo.AdminEmail)
			secret, _, _ := enrollTOTP(t, f.testInstance, admin)

			// The password alone: a challenge, no device token.
			resp := f.post(t, "", opLogin, map[string]any{"email": demo.AdminEmail, "password": testPassword})
			c := str(dig(resp.Data, "operatorLogin", "challenge"))
			if c == "" || dig(resp.Data, "operatorLogin", "deviceToken") != nil {
				t.Fatalf("operatorLogin with a second factor: %+v, want a challenge and no device token", resp)
			}
			// The second factor completes it: a device token.
			f.clock.Advance(30 * time.Second) // past the code that confirmed the app
			code, _ := totp.GenerateCode(secret, f.clock.Now())
			resp = f.post(t, "", verify, map[string]any{"challenge": c, "code": code})
			device := str(dig(resp.Data, "verifyOperatorMfa", "deviceToken"))
			if str(dig(resp.Data, "verifyOperatorMfa", "token")) == "" || device == "" {
				t.Fatalf("verifyOperatorMfa: %+v, want a session and a device token", resp)
			}
			// Sent again with the next sign-in: the same one comes back; the
			// first step still gives none.
			resp = f.post(t, "", opLogin, map[string]any{"email": demo.AdminEmail, "password": testPassword, "device": device})
			c = str(dig(resp.Data, "operatorLogin", "challenge"))
			if c == "" || dig(resp.Data, "operatorLogin", "deviceToken") != nil {
				t.Fatalf("operatorLogin with a device token: %+v", resp)
			}
			f.clock.Advance(30 * time.Second) // the next TOTP step: each code works once
			code, _ = totp.GenerateCode(secret, f.clock.Now())
			resp = f.post(t, "", verify, map[string]any{"challenge": c, "code": code, "device": device})
			if got := str(dig(resp.Data, "verifyOperatorMfa", "deviceToken")); got != device {
				t.Fatalf("verifyOperatorMfa with the device's token: %+v, want the same token back", resp)
			}
			opToken := str(dig(resp.Data, "verifyOperatorMfa", "token"))

			// The operator changes its password: a new device token, which
			// the next sign-in accepts (the same comes back).
			resp = f.post(t, opToken, opChange, map[string]any{"c": testPassword, "n": newPassword})
			opDevice := str(dig(resp.Data, "changeOperatorPassword", "deviceToken"))
			if opDevice == "" || opDevice == device {
				t.Fatalf("changeOperatorPassword: %+v, want a new device token", resp)
			}
			resp = f.post(t, "", opLogin, map[string]any{"email": demo.AdminEmail, "password": newPassword})
			c = str(dig(resp.Data, "operatorLogin", "challenge"))
			f.clock.Advance(30 * time.Second)
			code, _ = totp.GenerateCode(secret, f.clock.Now())
			resp = f.post(t, "", verify, map[string]any{"challenge": c, "code": code, "device": opDevice})
			if got := str(dig(resp.Data, "verifyOperatorMfa", "deviceToken")); got != opDevice {
				t.Fatalf("the device token of the password change at the next sign-in: %+v, want it back", resp)
			}

			// A customer (a forced change on first sign-in is the same call).
			_, old, code2 := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, customerPassword, "", nil)
			token, _, _ := f.customerLogin(t, customerPassword)
			if code2 != "" || old == "" || token == "" {
				t.Fatalf("customer sign-in: %q", code2)
			}
			resp = f.post(t, token, change, map[string]any{"c": customerPassword, "n": newPassword})
			fresh := str(dig(resp.Data, "changePassword", "deviceToken"))
			if str(dig(resp.Data, "changePassword", "token")) == "" || fresh == "" || fresh == old {
				t.Fatalf("changePassword: %+v, want a session and a new device token", resp)
			}
			if _, again, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, newPassword, fresh, nil); code != "" || again != fresh {
				t.Fatalf("the device token of the change at the next sign-in: %q, same token back %v", code, again == fresh)
			}
			if _, again, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, newPassword, old, nil); code != "" || again == old {
				t.Fatalf("the token from before the change: %q, ended %v", code, again != old)
			}
		})
	}
}
