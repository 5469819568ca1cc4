package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console as a support agent on a call uses it: a password to read out
// and what to tell the caller, details that follow what happens to the
// customer, a disabled account's context, and messages that name who did
// what to whom.

// A reset the agent can read out: Generate fills a passphrase that meets the
// policy, "temporary" is the default, and the dialog ends with where the
// customer signs in, the company code, the email and the password.
func TestBrowserResetGivesWhatToTellTheCaller(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)

	console.do("open reset dialog", click("#reset-action"), visible("#reset-dialog"),
		waitFor(`document.querySelector('#reset-dialog').contains(document.activeElement)`))
	if !eval[bool](console, `document.querySelector('#reset-form [name=requireChangeOnNextLogin]').checked`) {
		t.Error(`"temporary: the customer chooses a new one" is not checked by default`)
	}
	if label := eval[string](console, `document.querySelector('#reset-form [name=requireChangeOnNextLogin]').closest('label').textContent`); !strings.Contains(label, "Temporary") {
		t.Errorf("the checkbox says %q", label)
	}
	// An empty field is said to be required, not too short.
	console.do("empty", click(`#reset-form button[type=submit]`),
		waitFor(`document.querySelector('#reset-new').getAttribute('aria-invalid') === 'true'`))
	if msg := eval[string](console, `document.querySelector('#reset-new-error').textContent`); !strings.Contains(msg, "required") || strings.Contains(msg, "at least") {
		t.Errorf("empty password: %q, want it said to be required", msg)
	}
	console.checkAccessibility("reset dialog")

	console.do("generate", click("#reset-generate"),
		waitFor(`/^[a-z]+(-[a-z]+){3,}$/.test(document.querySelector('#reset-new').value)`),
		waitFor(`document.querySelector('#reset-new').type === 'text'`), visible("#reset-copy"))
	phrase := eval[string](console, `document.querySelector('#reset-new').value`)
	if confirm := eval[string](console, `document.querySelector('#reset-confirm').value`); confirm != phrase || len(phrase) < 12 {
		t.Fatalf("generated %q, confirmation %q", phrase, confirm)
	}
	console.checkAccessibility("generated password")

	console.do("reset", click(`#reset-form button[type=submit]`), visible("#reset-done"),
		waitFor(`document.activeElement.id === 'reset-done-title'`))
	tell := eval[map[string]string](console, `Object.fromEntries(['url', 'company', 'email', 'password', 'password-label'].map(
		(k) => [k, document.querySelector('#reset-done-' + k).textContent]))`)
	want := map[string]string{"url": f.URL() + "/dashboard?company=demo", "company": "demo", "email": customerEmail, "password": phrase, "password-label": "Temporary password"}
	if fmt.Sprint(tell) != fmt.Sprint(want) {
		t.Errorf("what to tell the caller: %v, want %v", tell, want)
	}
	if title := eval[string](console, `document.querySelector('#reset-done-title').textContent`); title != "Tell "+caseyName {
		t.Errorf("the end of the reset is titled %q", title)
	}
	console.checkAccessibility("what to tell the caller")
	// On a small phone each label stands above its value, and the password is never broken at its
	// hyphens (it is read out on a call).
	console.do("what to tell, on a small phone", chromedp.EmulateViewport(320, 568, chromedp.EmulateScale(1)), waitFor(noOverflow),
		waitFor(`getComputedStyle(document.querySelector('#reset-done .tell')).gridTemplateColumns.split(' ').length === 1`),
		waitFor(`document.querySelector('#reset-done-password').getClientRects().length === 1`),
		chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
	console.do("copy", click("#reset-done-copy"), waitFor(`document.querySelector('#reset-done-copied').textContent !== ''`))
	// The details show the reset just made (Recent activity follows each action).
	console.do("activity shows the reset", waitFor(`document.querySelector('#details-activity')?.textContent.includes('Password reset by support')`))
	// The dialog's close event, which empties it, comes a task after open turns false.
	console.do("done: the password leaves the page", chromedp.Click(`//div[@id="reset-done"]//button[text()="Done"]`),
		waitFor(`!document.querySelector('#reset-dialog').open`),
		waitFor(`document.querySelector('#reset-done-password').textContent + document.querySelector('#reset-new').value === ''`))

	// The customer signs in with it and must choose a new one.
	resp := f.post(t, "", customerLoginMutation, map[string]any{"email": customerEmail, "password": phrase})
	if dig(resp.Data, "login", "token") == nil || dig(resp.Data, "login", "mustChangePassword") != true {
		t.Fatalf("sign-in with the read-out password: %+v", resp)
	}
}

// The details follow what happens to the customer: an assistance started
// and ended from the dashboard, a device renamed while assisting, an
// assistance past its expiry; status messages clear after a while and at
// the next action.
func TestBrowserDetailsFollowTheCustomer(t *testing.T) {
	f := newAccountFixture(t, func(c *config) { c.AssistTTL = 3 * time.Second })
	b := newBrowser(t)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	console.selectCustomer("casey", caseyName)
	support := f.login(t, "support@demo.test")

	// Another agent assists: the details show it running, then the rename.
	_, ticket := f.startAssist(t, support, "thermostat offline")
	console.do("assistance shows", waitFor(`document.querySelector('#assists')?.textContent.includes('Sam Support')`))
	assisting, _ := f.redeem(t, ticket)
	rename := `mutation($id: ID!) { updateDevice(input: {deviceId: $id, name: "Landing"}) { device { name } } }`
	if resp := f.post(t, assisting, rename, map[string]any{"id": globalIDForTest("Device", f.device.ID)}); dig(resp.Data, "updateDevice", "device", "name") != "Landing" {
		t.Fatalf("rename while assisting: %+v", resp)
	}
	console.do("rename shows", waitFor(`document.querySelector('#details-devices').textContent.includes('Landing')`),
		waitFor(`document.querySelector('#details-activity')?.textContent.includes('Device changed by support')`))
	// Ended from the dashboard (End assistance signs the assist session out).
	if resp := f.post(t, assisting, `mutation { logout { success } }`, nil); dig(resp.Data, "logout", "success") != true {
		t.Fatalf("end from the dashboard: %+v", resp)
	}
	console.do("assistance ended", waitFor(`document.querySelector('#assists') === null`),
		waitFor(`document.querySelector('#details-activity')?.textContent.includes('Remote assistance ended')`))

	// One that runs out: it leaves the details at its expiresAt, whatever the server recorded.
	f.startAssist(t, support, "second look")
	console.do("second assistance shows", waitFor(`document.querySelector('#assists') !== null`))
	console.do("expired", chromedp.Poll[chromedp.Void](`document.querySelector('#assists') === null`,
		chromedp.WithPollingTimeout(8*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))

	// The details are drawn again after each action and at each event: a button is clicked where
	// it is at that moment (a node found a moment before may be gone).
	clickNow := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).click()`, sel))
	}
	// A status message clears after a while, and at the next action.
	console.do("message", chromedp.Evaluate[chromedp.Void](`document.querySelector('#status').dataset.clearAfter = '400'`),
		clickNow("#status-action"), visible("#status-dialog"), fill("#status-reason", "checking"), click("#status-confirm"),
		waitFor(`document.querySelector('#status').textContent.includes('is disabled')`),
		waitFor(`document.querySelector('#status').textContent === ''`))
	console.do("next action", chromedp.Evaluate[chromedp.Void](`delete document.querySelector('#status').dataset.clearAfter`),
		waitFor(`document.querySelector('#details-status').textContent === 'Disabled'`),
		clickNow("#status-action"), visible("#status-dialog"), click("#status-confirm"),
		waitFor(`document.querySelector('#status').textContent.includes('is enabled')`),
		clickNow("#reset-action"), visible("#reset-dialog"), waitFor(`document.querySelector('#status').textContent === ''`))
}

// A disabled account shows who disabled it, when and (to those who may
// read the audit log) why; Remote Assistance says why it is unavailable;
// the messages name who did what.
func TestBrowserDisabledAccountShowsItsContext(t *testing.T) {
	f := newAccountFixture(t, nil)
	if _, code, _ := f.customerLogin(t, "not the password at all"); code != "INVALID_CREDENTIALS" {
		t.Fatalf("a failed sign-in: %s", code)
	}
	b := newBrowser(t)
	console := b.newPage("support")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	activity := eval[string](console, `document.querySelector('#details-activity').textContent`)
	if !strings.Contains(activity, "Failed sign-in attempt (wrong password)") || strings.Contains(activity, "(failed)") {
		t.Errorf("the failed sign-in reads %q", activity)
	}

	admin := f.login(t, "admin@demo.test")
	f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "chargeback under review"})
	console.do("disabled live", waitFor(`document.querySelector('#details-status').textContent === 'Disabled'`),
		waitFor(`document.querySelector('#details-disabling')?.textContent.includes('Ada Admin (administrator)')`),
		waitFor(`document.querySelector('#status').textContent === "Casey Customer's account was disabled by Ada Admin."`))
	if text := eval[string](console, `document.querySelector('#details-disabling').textContent`); strings.Contains(text, "chargeback") || !strings.Contains(text, "audit log") {
		t.Errorf("SUPPORT's view of the disabling: %q, want who and when, the reason left to the audit log", text)
	}
	hint := eval[map[string]any](console, `(() => {
		const button = document.querySelector('#assist-action'), hint = document.getElementById(button.getAttribute('aria-describedby'));
		return { disabled: button.disabled, hint: hint?.textContent || '', shown: Boolean(hint?.offsetParent) };
	})()`)
	if hint["disabled"] != true || hint["shown"] != true || !strings.Contains(hint["hint"].(string), "Remote assistance is unavailable while the account is disabled") {
		t.Errorf("Remote Assistance on a disabled account: %v", hint)
	}
	console.checkAccessibility("disabled account")

	// An ADMIN reads the reason.
	adminConsole := b.newPage("admin")
	adminConsole.consoleSignIn(f.URL(), "admin@demo.test")
	adminConsole.selectCustomer("casey", caseyName)
	if text := eval[string](adminConsole, `document.querySelector('#details-disabling').textContent`); !strings.Contains(text, "Reason: chargeback under review") {
		t.Errorf("the ADMIN's view of the disabling: %q", text)
	}

	// Enabled again: said as such ("was enabled", not "was active"), by an administrator.
	f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "ACTIVE"})
	console.do("enabled live", waitFor(`document.querySelector('#status').textContent === "Casey Customer's account was enabled by Ada Admin."`),
		waitFor(`document.querySelector('#details-disabling') === null && !document.querySelector('#assist-action').disabled`),
		waitFor(`document.querySelector('#details-activity')?.textContent.includes('Account enabled by an administrator')`))

	// A reset to the customer's own email: the agent is told about the customer's email, not its own.
	console.do("reset to the email", click("#reset-action"), visible("#reset-dialog"),
		fill("#reset-new", customerEmail), fill("#reset-confirm", customerEmail), click(`#reset-form button[type=submit]`),
		waitFor(`document.querySelector('#reset-new').getAttribute('aria-invalid') === 'true'`))
	if msg := eval[string](console, `document.querySelector('#reset-new-error').textContent`); !strings.Contains(msg, "the customer's email") || strings.Contains(msg, "your") {
		t.Errorf("a reset to the customer's email: %q", msg)
	}
}
