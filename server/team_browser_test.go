package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console's Security section, the way operators use it: an operator
// changes its own password.

// An operator changes its own password in Security: mistakes show at their
// fields; afterwards this console goes on with the new session, the old
// password no longer signs in and the new one does.
func TestBrowserSecurityChangePassword(t *testing.T) {
	f := newAccountFixture(t, nil)
	console := newBrowser(t).newPage("support")
	console.consoleSignIn(f.URL(), "support@demo.test")
	before := eval[string](console, `sessionStorage.getItem('bff.console.token')`)
	console.do("security", click("#nav-security"), visible("#password-form"),
		waitFor(`location.hash === '#security' && document.activeElement.id === 'security-title'`), waitFor(labelled))

	const next = "sam-chooses-a-new-passphrase-4"
	console.do("wrong current", fill("#password-current", "not my password at all"),
		fill("#password-new", next), fill("#password-confirm", next), click(`#password-form button[type=submit]`),
		waitFor(`document.querySelector('#password-current-error')?.textContent === 'This is not your current password.'`),
		waitFor(`document.activeElement.id === 'password-current'`))
	console.do("policy", fill("#password-current", testPassword), fill("#password-new", "password123"), fill("#password-confirm", "password123"),
		click(`#password-form button[type=submit]`),
		waitFor(`document.querySelector('#password-new').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#password-new-error').textContent !== ''`),
		waitFor(`document.querySelector('#password-current').getAttribute('aria-invalid') === null`))
	console.do("mismatch", fill("#password-new", next), fill("#password-confirm", next+"x"),
		click(`#password-form button[type=submit]`),
		waitFor(`document.querySelector('#password-confirm').getAttribute('aria-invalid') === 'true'`))
	if token, resp := operatorSignIn(t, f.testInstance, "support@demo.test", testPassword); token == "" {
		t.Fatalf("refused changes changed the password: %+v", resp)
	}

	console.do("change", fill("#password-confirm", next), click(`#password-form button[type=submit]`),
		waitFor(`document.querySelector('#status').textContent === 'Your password is changed. Your other sessions have ended; you stay signed in here.'`),
		waitFor(`[...document.querySelectorAll('#password-form input')].every(i => i.value === '')`),
		chromedp.Sleep(2*time.Second)) // the server closes the old session's sockets meanwhile
	after := eval[string](console, `sessionStorage.getItem('bff.console.token') || ''`)
	if after == "" || after == before {
		t.Fatalf("the console's token after the change: %q (before %q)", after, before)
	}
	if resp := f.post(t, before, `{ viewer { ... on Operator { id } } }`, nil); resp.code() != "UNAUTHENTICATED" {
		t.Errorf("the old token still works: %+v", resp)
	}
	// Still signed in, with live updates: another operator's change arrives.
	console.do("still signed in", click("#nav-customers"), visible("#search"))
	console.selectCustomer("casey", caseyName)
	if resp := f.post(t, f.login(t, "admin@demo.test"), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "live check"}); dig(resp.Data, "setAccountStatus", "changed") != true {
		t.Fatalf("disable: %+v", resp)
	}
	console.do("live update", waitFor(`document.querySelector('#details-status').textContent === 'Disabled'`),
		waitFor(`document.querySelector('#status').textContent === 'Casey Customer was disabled by Ada Admin.'`))

	if _, resp := operatorSignIn(t, f.testInstance, "support@demo.test", testPassword); userError(resp, "operatorLogin") != "INVALID_CREDENTIALS" {
		t.Errorf("the old password signs in: %+v", resp)
	}
	console.do("sign out", click("#sign-out"), visible("#sign-in-form"))
	console.do("old password refused", signIn("support@demo.test", testPassword),
		waitFor(`document.querySelector('#sign-in-form .form-error').textContent !== ''`),
		waitFor(`document.querySelector('#search').offsetParent === null`))
	console.do("new password signs in", fill("#sign-in-password", next), click(`#sign-in-form button[type=submit]`), visible("#search"),
		waitFor(`location.hash === '#customers'`))
}
