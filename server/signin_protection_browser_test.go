package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/iotconsole/bff/internal/demo"
)

// The console and the dashboard keep each account's device token in the
// browser (localStorage, keyed by the domain and email typed) and send it:
// after an attacker at the same address has spent the address's budget and
// the account's allowance, the person signs in again in the same browser.
func TestBrowserKnownDeviceSignsInDuringAnAttack(t *testing.T) {
	f := newAccountFixture(t, nil) // the browser and the attacker share 127.0.0.1
	b := newBrowser(t)
	dashboard, console := b.newPage("customer"), b.newPage("operator")
	dashboard.dashboardSignIn(f.URL(), customerEmail, customerPassword)
	console.consoleSignIn(f.URL(), demo.AdminEmail)
	for _, kept := range []struct {
		p   *page
		key string
	}{{dashboard, "bff.dashboard.device.demo\\u0000" + customerEmail}, {console, "bff.console.device.demo\\u0000" + demo.AdminEmail}} {
		if token := eval[string](kept.p, fmt.Sprintf(`localStorage.getItem("%s") || ''`, kept.key)); len(token) != 43 {
			t.Fatalf("%s: the device token kept: %q", kept.p.name, token)
		}
	}
	dashboard.do("sign out", click("#sign-out"), visible("#sign-in-form"))
	console.do("sign out", click("#sign-out"), visible("#sign-in-form"))

	// The attacker: the customer's and the operator's passwords, then strangers'.
	for i := range 5 {
		f.post(t, "", customerLoginMutation, map[string]any{"email": customerEmail, "password": fmt.Sprint("guess ", i)})
		f.post(t, "", loginMutation, map[string]any{"domain": "demo", "email": demo.AdminEmail, "password": fmt.Sprint("guess ", i)})
	}
	spend(t, f.testInstance, nil, 10, "browser")
	if _, _, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, customerPassword, "", nil); code != codeRateLimited {
		t.Fatalf("a new device during the attack: %q, want RATE_LIMITED", code)
	}

	dashboard.do("sign in again", signIn(customerEmail, customerPassword), visible("#devices form"))
	console.do("sign in again", signIn(demo.AdminEmail, testPassword), visible("#search"))
}

// The console keeps the device token that the second factor completes (none
// after the password alone), and both pages keep the new one a password
// change returns: the next sign-in from the browser is a known device's.
func TestBrowserKeepsTheDeviceTokenOfTheSecondFactorAndOfAPasswordChange(t *testing.T) {
	f := newAccountFixture(t, nil)
	secret, _, _ := enrollTOTP(t, f.testInstance, f.login(t, demo.AdminEmail))
	b := newBrowser(t)
	console, dashboard := b.newPage("operator"), b.newPage("customer")
	kept := func(p *page, key string) string {
		return eval[string](p, fmt.Sprintf(`localStorage.getItem("%s") || ''`, key))
	}
	consoleKey := "bff.console.device.demo\\u0000" + demo.AdminEmail
	console.do("the password", chromedp.Navigate(f.URL()+"/console"), signIn(demo.AdminEmail, testPassword), visible("#mfa-form"))
	if token := kept(console, consoleKey); token != "" {
		t.Fatalf("a device token kept after the password alone: %q", token)
	}
	f.clock.Advance(30 * time.Second) // past the code that confirmed the app
	code, _ := totp.GenerateCode(secret, f.clock.Now())
	console.do("the code", fill("#mfa-code", code), click(`#mfa-form button[type=submit]`), visible("#search"))
	first := kept(console, consoleKey)
	if len(first) != 43 {
		t.Fatalf("the device token after the second factor: %q", first)
	}
	console.do("own password", click("#nav-security"), visible("#password-form"),
		fill("#password-current", testPassword), fill("#password-new", newPassword), fill("#password-confirm", newPassword),
		click(`#password-form button[type=submit]`), waitFor(`document.querySelector('#password-form').newPassword.value === ''`))
	if second := kept(console, consoleKey); len(second) != 43 || second == first {
		t.Fatalf("the console's device token after a password change: %q (before %q)", second, first)
	}

	dashboardKey := "bff.dashboard.device.demo\\u0000" + customerEmail
	dashboard.dashboardSignIn(f.URL(), customerEmail, customerPassword)
	first = kept(dashboard, dashboardKey)
	dashboard.do("change password", fill("#password-current", customerPassword), fill("#password-new", newPassword), fill("#password-confirm", newPassword),
		click(`#password-form button[type=submit]`), waitFor(`document.querySelector('#password-saved').textContent !== ''`))
	second := kept(dashboard, dashboardKey)
	if len(first) != 43 || len(second) != 43 || second == first {
		t.Fatalf("the dashboard's device token: %q before the change, %q after", first, second)
	}
	if _, again, code := signInVia(t, f.testInstance, deviceLoginMutation, customerEmail, newPassword, second, nil); code != "" || again != second {
		t.Fatalf("the kept token at the next sign-in: %q, the same back %v", code, again == second)
	}
	dashboard.checkAccessibility("the password changed")
}
