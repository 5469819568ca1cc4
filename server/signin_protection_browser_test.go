package main

import (
	"fmt"
	"testing"

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
