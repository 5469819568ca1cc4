package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/iotconsole/bff/internal/store/storetest"
)

// The flows, the way a person does them: real pages served by a real
// server on the embedded store, in headless Chromium.

const (
	caseyName = "Casey Customer"
	adminName = "Ada Admin"
)

func TestBrowserSearchAsYouTypeNarrowsTheList(t *testing.T) {
	f := newAccountFixture(t, nil)
	console := newBrowser(t).newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")

	if n := eval[int](console, `document.querySelectorAll('#results li').length`); n != 25 {
		t.Errorf("a blank search lists %d customers, want the first page of 25", n)
	}
	if text := eval[string](console, `document.querySelector('#result-count').textContent`); text != "2001 customers" {
		t.Errorf("count = %q, want 2001 customers (2000 demo customers and Casey)", text)
	}
	// Typed key by key: the debounce sends fewer requests than keystrokes, and
	// only the answer to the last one shows.
	console.do("type casey", chromedp.Evaluate[chromedp.Void](`performance.clearResourceTimings();
		  document.querySelector('#search').addEventListener('keydown', () => { window.lastKey = performance.now(); });
		  new MutationObserver(() => { window.lastRender = performance.now(); }).observe(document.querySelector('#results'), { childList: true })`),
		fill("#search", "casey cust"),
		waitFor(`document.querySelectorAll('#results li').length === 1`))
	t.Logf("last keystroke to the narrowed list: %.0f ms (100 ms of it is the debounce)", eval[float64](console, `window.lastRender - window.lastKey`))
	if n := eval[int](console, `performance.getEntriesByType('resource').filter(e => e.name.endsWith('/graphql')).length`); n < 1 || n >= len("casey cust") {
		t.Errorf("typing 10 keys sent %d searches, want at least 1 and fewer than 10", n)
	} else {
		t.Logf("typing 10 keys sent %d searches", n)
	}
	names := eval[[]string](console, `[...document.querySelectorAll('#results .name')].map(e => e.textContent)`)
	if len(names) != 1 || names[0] != caseyName {
		t.Errorf("after typing: %v, want only %s", names, caseyName)
	}
	row := eval[string](console, `document.querySelector('#results .result').textContent`)
	for _, want := range []string{caseyName, customerEmail, "+1 555 010 7777", "Active"} {
		if !strings.Contains(row, want) {
			t.Errorf("result row %q lacks %q", row, want)
		}
	}
	console.do("no match", fill("#search", "zzzz nobody"),
		waitFor(`document.querySelector('#result-count').textContent === 'No customers match.'`))
	// By phone, as support staff read it out.
	console.do("type phone", fill("#search", "5550107777"),
		waitFor(`[...document.querySelectorAll('#results .name')].map(e => e.textContent).join() === 'Casey Customer'`))

	// Scrolling to the end of the list loads the next page.
	console.do("scroll", fill("#search", ""),
		waitFor(`document.querySelectorAll('#results li').length === 25`),
		chromedp.ScrollIntoView(chromedp.CSS("#more")),
		waitFor(`document.querySelectorAll('#results li').length === 50`))

	// Keyboard: the results are buttons; Enter opens the details.
	console.do("keyboard select", searchFor("casey"),
		waitFor(`document.querySelectorAll('#results li').length === 1`),
		chromedp.Focus(chromedp.CSS("#results .result")),
		chromedp.KeyEvent("\r"),
		waitFor(fmt.Sprintf(`document.querySelector('#details-name')?.textContent === %q`, caseyName)))

	// Signing out leaves nothing of the session on the page.
	console.do("sign out", click("#sign-out"), visible("#sign-in-form"),
		waitFor(`document.querySelectorAll('#results li').length === 0 && document.querySelector('#details').hidden`),
		waitFor(`sessionStorage.length === 0`))
}

func TestBrowserSearchOnASlowNetwork(t *testing.T) {
	f := newAccountFixture(t, nil)
	console := newBrowser(t).newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	// The search for "ca" answers after 1.5 s, every other request at once.
	console.slowGraphQL(func(body string) time.Duration {
		if strings.Contains(body, `"query":"ca"`) {
			return 1500 * time.Millisecond
		}
		return 0
	})
	console.do("slow search shows the spinner", fill("#search", "ca"),
		waitFor(`!document.querySelector('#spinner').hidden`))
	// Typing on while the slow answer is out: the newer search wins, the older answer is dropped.
	console.do("newer search wins", chromedp.SendKeys(chromedp.CSS("#search"), "sey cust"),
		waitFor(`document.querySelectorAll('#results li').length === 1`),
		waitFor(`document.querySelector('#spinner').hidden`),
		chromedp.Sleep(2*time.Second)) // past the slow answer
	if names := eval[[]string](console, `[...document.querySelectorAll('#results .name')].map(e => e.textContent)`); len(names) != 1 || names[0] != caseyName {
		t.Errorf("after the slow answer came: %v, want only %s", names, caseyName)
	}
}

func TestBrowserResetPasswordThenTheCustomerSignsInWithIt(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	console.selectCustomer("casey", caseyName)
	// The details list the customer's device with its serial number and MAC address.
	wantIDs := fmt.Sprintf("Serial %s · MAC %s", f.device.SerialNumber, f.device.MACAddress)
	if text := eval[string](console, `document.querySelector('#details-devices').textContent`); !strings.Contains(text, "Hall") || !strings.Contains(text, wantIDs) {
		t.Errorf("the console's devices = %q, want Hall with %q", text, wantIDs)
	}

	console.do("open reset dialog", chromedp.Click(`//button[text()="Reset Password"]`),
		visible("#reset-dialog"),
		waitFor(`document.querySelector('#reset-dialog').contains(document.activeElement)`))
	if text := eval[string](console, `document.querySelector('#reset-reminder').textContent`); !strings.Contains(text, "takes effect immediately") || !strings.Contains(text, caseyName) {
		t.Errorf("reminder = %q", text)
	}
	// The policy's errors appear at the field, and nothing changes.
	console.do("too short", fill("#reset-new", "hunter2"), fill("#reset-confirm", "hunter2"),
		click(`#reset-form button[type=submit]`),
		waitFor(`document.querySelector('#reset-new').getAttribute('aria-invalid') === 'true'`))
	if msg := eval[string](console, `document.querySelector('#reset-new-error').textContent`); msg == "" {
		t.Error("no message at the new password field")
	}
	console.do("mismatch", fill("#reset-new", "violet-harbor-canyon-93"), fill("#reset-confirm", "violet-harbor-canyon-39"),
		click(`#reset-form button[type=submit]`),
		waitFor(`document.querySelector('#reset-confirm').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#reset-new').getAttribute('aria-invalid') === null`))
	if resp := f.post(t, "", customerLoginMutation, map[string]any{"email": customerEmail, "password": customerPassword}); dig(resp.Data, "login", "token") == nil {
		t.Fatalf("the old password stopped working after refused resets: %+v", resp)
	}
	// "Temporary: the customer chooses a new one at the next sign-in" is checked by default.
	console.do("reset", fill("#reset-confirm", "violet-harbor-canyon-93"),
		waitFor(`document.querySelector('#reset-form input[name=requireChangeOnNextLogin]').checked`),
		click(`#reset-form button[type=submit]`),
		visible("#reset-done"),
		waitFor(`document.querySelector('#status').textContent.includes('new password')`),
		chromedp.Click(`//div[@id="reset-done"]//button[text()="Done"]`),
		waitFor(`!document.querySelector('#reset-dialog').open`))

	dashboard := b.newPage("customer")
	dashboard.do("old password refused", chromedp.Navigate(f.URL()+"/dashboard"), signIn(customerEmail, customerPassword),
		waitFor(`document.querySelector('#sign-in-form .form-error, #sign-in-form .field-error')?.textContent !== ''`))
	// The operator asked for a new password at the next sign-in: the customer chooses one first.
	dashboard.do("new password signs in", fill("#sign-in-password", "violet-harbor-canyon-93"),
		click(`#sign-in-form button[type=submit]`), visible("#change-form"),
		fill("#change-new", "my-own-secret-meadow-7"), fill("#change-confirm", "my-own-secret-meadow-7"), // the temporary password was just typed
		click(`#change-form button[type=submit]`), visible("#devices form"))
	dashboard.do("sign out", click("#sign-out"), visible("#sign-in-form"),
		waitFor(`document.querySelector('#notice').textContent === 'You are signed out.'`))
	dashboard.dashboardSignIn(f.URL(), customerEmail, "my-own-secret-meadow-7")
	if names := eval[[]string](dashboard, `[...document.querySelectorAll('#devices h3')].map(e => e.textContent)`); len(names) != 1 || names[0] != "Hall" {
		t.Errorf("the customer's devices: %v, want [Hall]", names)
	}
	if text := eval[string](dashboard, `document.querySelector('#devices .device-ids').textContent`); text != wantIDs {
		t.Errorf("the dashboard's device shows %q, want %q", text, wantIDs)
	}
}

func TestBrowserDisableShowsTheOpenDashboardTheDisabledMessage(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	dashboard := b.newPage("customer") // a second browser context: another person, another computer
	dashboard.dashboardSignIn(f.URL(), customerEmail, customerPassword)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	console.selectCustomer("casey", caseyName)

	console.do("open disable dialog", click(`#status-action`), visible("#status-dialog"),
		waitFor(`document.querySelector('#status-confirm').textContent === 'Disable Account'`),
		waitFor(`document.querySelector('#status-dialog').contains(document.activeElement)`))
	console.do("reason required", click(`#status-confirm`),
		waitFor(`document.querySelector('#status-reason').getAttribute('aria-invalid') === 'true'`))
	if resp := f.post(t, "", customerLoginMutation, map[string]any{"email": customerEmail, "password": customerPassword}); dig(resp.Data, "login", "token") == nil {
		t.Fatalf("a refused disable changed the account: %+v", resp)
	}
	console.do("disable", fill("#status-reason", "chargeback under review"), click(`#status-confirm`),
		waitFor(`!document.querySelector('#status-dialog').open`),
		waitFor(`document.querySelector('#details-status').textContent === 'Disabled'`),
		waitFor(`document.querySelector('#status-action').textContent === 'Enable Account'`),
		waitFor(`document.querySelector('#results .badge').textContent === 'Disabled'`))

	dashboard.do("disabled message", waitFor(`document.querySelector('#notice').textContent.includes('disabled')`),
		visible("#sign-in-form"))
	if left := eval[string](dashboard, `sessionStorage.getItem('bff.dashboard.token') || ''`); left != "" {
		t.Error("the disabled customer's dashboard kept its token")
	}
	if n := eval[int](dashboard, `document.querySelectorAll('#devices form').length`); n != 0 {
		t.Errorf("the disabled customer's dashboard still shows %d devices", n)
	}

	console.do("enable", click(`#status-action`), visible("#status-dialog"),
		waitFor(`document.querySelector('#status-confirm').textContent === 'Enable Account'`),
		click(`#status-confirm`),
		waitFor(`!document.querySelector('#status-dialog').open`),
		waitFor(`document.querySelector('#details-status').textContent === 'Active'`),
		waitFor(`document.querySelector('#status-action').textContent === 'Disable Account'`))
	dashboard.dashboardSignIn(f.URL(), customerEmail, customerPassword)
	dashboard.do("activity shows it", click("#tab-activity"),
		waitFor(`document.querySelector('#recent').textContent.includes('Account disabled by an administrator')`),
		waitFor(`document.querySelector('#recent').textContent.includes('Account enabled by an administrator')`))
	if text := eval[string](dashboard, `document.querySelector('#recent').textContent`); strings.Contains(text, "chargeback") {
		t.Errorf("the customer sees the operator's internal reason: %q", text)
	}

	// Another operator's change appears in the open console without a reload.
	other := f.login(t, "admin@demo.test")
	setStatus := `mutation($id: ID!, $status: AccountStatus!) { setAccountStatus(input: {customerId: $id, status: $status, reason: "fraud check"}) { changed } }`
	if resp := f.post(t, other, setStatus, map[string]any{"id": f.customerID(), "status": "DISABLED"}); dig(resp.Data, "setAccountStatus", "changed") != true {
		t.Fatalf("disable through the API: %+v", resp)
	}
	console.do("live disabled", waitFor(`document.querySelector('#details-status').textContent === 'Disabled'`),
		waitFor(`document.querySelector('#results .badge').textContent === 'Disabled'`))
	dashboard.do("disabled again", waitFor(`document.querySelector('#notice').textContent.includes('disabled')`))
}

func TestBrowserRemoteAssistance(t *testing.T) {
	f := newAccountFixture(t, nil)
	f.setAssistConsent(t, "NONE") // control at once, the customer told (browser_assist_consent_test.go asks the customer)
	b := newBrowser(t)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	console.selectCustomer("casey", caseyName)
	console.do("open assist dialog", chromedp.Click(`//button[text()="Remote Assistance"]`), visible("#assist-dialog"))
	console.do("reason required", click(`#assist-form button[type=submit]`),
		waitFor(`document.querySelector('#assist-reason').getAttribute('aria-invalid') === 'true'`))
	assisted := console.openedTab("start assist", "assisted",
		click("#assist-mode input[value=CONTROL]"), fill("#assist-reason", "thermostat will not connect"),
		click(`#assist-form button[type=submit]`))

	assisted.do("banner", visible("#assist-banner"), visible("#devices form"),
		waitFor(`document.querySelector('#assist-operator').textContent === 'Ada'`), // "Ada from support is assisting you"
		waitFor(`/\d+:\d\d left/.test(document.querySelector('#assist-left').textContent)`))
	console.do("console shows it running", waitFor(fmt.Sprintf(`document.querySelector('#assists')?.textContent.includes(%q)`, adminName)))
	if url := eval[string](assisted, `location.href`); strings.Contains(url, "assist=") {
		t.Errorf("the ticket stayed in the address bar: %s", url)
	}
	if reason := eval[string](assisted, `document.querySelector('#assist-reason').textContent`); reason != "thermostat will not connect" {
		t.Errorf("banner reason = %q", reason)
	}
	assisted.do("rename device", fill("#device-0-name", "Hallway"), click(`#devices form button[type=submit]`),
		waitFor(`document.querySelector('#devices .saved').textContent === 'Saved.'`),
		waitFor(`document.querySelector('#devices h3').textContent === 'Hallway'`))
	assisted.do("activity", click("#tab-activity"), visible("#activity-view"),
		waitFor(fmt.Sprintf(`document.querySelector('#activity').textContent.includes(%q)`, adminName)),
		waitFor(`document.querySelector('#activity').textContent.includes('device changed')`),
		visible("#assist-banner")) // on every view

	// The audit log names the operator as the actor, acting for the customer.
	admin := f.login(t, "admin@demo.test")
	resp := f.post(t, admin, `query($id: ID!) { viewer { ... on Operator { id } }
	  auditLog(customerId: $id, action: "device_updated") { edges { node { actorType actorId actingFor assistSessionId } } } }`,
		map[string]any{"id": f.customerID()})
	entries, _ := dig(resp.Data, "auditLog", "edges").([]any)
	if len(entries) != 1 {
		t.Fatalf("device_updated entries: %+v", resp)
	}
	entry := dig(entries[0], "node")
	if dig(entry, "actorType") != "operator" || dig(entry, "actorId") != dig(resp.Data, "viewer", "id") ||
		dig(entry, "actingFor") != f.customerID() || dig(entry, "assistSessionId") == nil {
		t.Errorf("the rename's audit entry = %+v, want the admin acting for Casey in an assist session", entry)
	}

	assisted.do("end assistance", click("#end-assist"),
		waitFor(`document.querySelector('#notice').textContent.includes('Assistance ended')`),
		waitFor(`document.querySelector('#assist-banner').hidden`),
		waitFor(`document.querySelectorAll('#devices form').length === 0`))
	if left := eval[string](assisted, `sessionStorage.getItem('bff.dashboard.token') || ''`); left != "" {
		t.Error("the ended assistance left its token in the tab")
	}
	state := f.post(t, admin, `query($id: ID!) { assistSessions(customerId: $id) { edges { node { state } } } }`, map[string]any{"id": f.customerID()})
	if got := dig(state.Data, "assistSessions", "edges"); fmt.Sprint(got) != "[map[node:map[state:ENDED]]]" {
		t.Errorf("assist sessions after ending: %v", got)
	}

	// Ended from the console instead: the assisted tab signs out by itself.
	console.do("assist again", chromedp.Reload(), visible("#search"))
	console.selectCustomer("casey", caseyName)
	console.do("open assist dialog again", chromedp.Click(`//button[text()="Remote Assistance"]`), visible("#assist-dialog"))
	again := console.openedTab("start assist again", "assisted-again",
		click("#assist-mode input[value=CONTROL]"), fill("#assist-reason", "second look"), click(`#assist-form button[type=submit]`))
	again.do("banner again", visible("#assist-banner"), visible("#devices form"))
	// Found and clicked in one step: the details are drawn again as the assistance's events arrive,
	// which replaced a button found in one step before a click in the next.
	console.do("end from the console", waitFor(`(() => {
			const end = [...document.querySelectorAll('#assists button')].find((b) => b.textContent === 'End assistance');
			end?.click();
			return Boolean(end);
		})()`),
		waitFor(`document.querySelector('#assists') === null`),
		waitFor(`document.querySelector('#details-activity')?.textContent.includes('Remote assistance ended')`))
	again.do("signed out by the console", waitFor(`document.querySelector('#notice').textContent.includes('assistance has ended')`),
		waitFor(`document.querySelectorAll('#devices form').length === 0`), waitFor(`document.querySelector('#assist-banner').hidden`))
}

// noOverflow and labelled are checked on every screen of the phone test.
const (
	noOverflow = `document.documentElement.scrollWidth <= window.innerWidth`
	labelled   = `[...document.querySelectorAll('input, select, textarea')].every(e => e.labels.length > 0 || e.hasAttribute('aria-label'))`
)

func TestBrowserPagesOnAPhoneWithTheKeyboard(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1))
	console := b.newPage("console")
	console.do("phone size", phone)
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	console.do("customers screen fits", waitFor(noOverflow), waitFor(labelled))
	// SUPPORT may reset passwords and assist, not disable: the console offers only what will work.
	if actions := eval[[]string](console, `[...document.querySelectorAll('#details .actions button')].map(b => b.textContent)`); fmt.Sprint(actions) != "[Reset Password Remote Assistance]" {
		t.Errorf("SUPPORT's actions: %v", actions)
	}

	// A dialog takes the focus, Escape closes it, and the focus returns to the button that opened it.
	console.do("dialog by keyboard", chromedp.Focus(chromedp.Search(`//button[text()="Reset Password"]`)), chromedp.KeyEvent("\r"),
		waitFor(`document.querySelector('#reset-dialog').open && document.activeElement === document.querySelector('#reset-new')`),
		waitFor(noOverflow), waitFor(labelled),
		chromedp.KeyEvent(kb.Escape),
		waitFor(`!document.querySelector('#reset-dialog').open && document.activeElement.textContent === 'Reset Password'`))

	// The longest device name the API takes, without a space to break at, wraps on the phone.
	token, _, _ := f.customerLogin(t, customerPassword)
	rename := f.post(t, token, `mutation($id: ID!, $name: String) { updateDevice(input: {deviceId: $id, name: $name}) { userErrors { code } } }`,
		map[string]any{"id": globalIDForTest("Device", f.device.ID), "name": strings.Repeat("W", 64)})
	if errs, _ := dig(rename.Data, "updateDevice", "userErrors").([]any); len(errs) != 0 || len(rename.Errors) != 0 {
		t.Fatalf("rename: %+v", rename)
	}
	dashboard := b.newPage("customer")
	dashboard.do("phone size", phone)
	dashboard.dashboardSignIn(f.URL(), customerEmail, customerPassword)
	dashboard.do("devices fit", waitFor(noOverflow), waitFor(labelled))
	// Tabs move with the arrow keys.
	dashboard.do("activity by keyboard", chromedp.Focus(chromedp.CSS("#tab-devices")), chromedp.KeyEvent(kb.ArrowRight),
		visible("#activity-view"), waitFor(`document.activeElement.id === 'tab-activity'`), waitFor(noOverflow))
}

// TestBrowserREADMEScreenshots refreshes the README's pictures:
// BFF_SCREENSHOTS=$PWD/docs go test ./server -run READMEScreenshots
func TestBrowserREADMEScreenshots(t *testing.T) {
	dir := os.Getenv("BFF_SCREENSHOTS")
	if dir == "" {
		t.Skip("set BFF_SCREENSHOTS to a directory to write the README's screenshots")
	}
	f := newAccountFixture(t, nil)
	console := newBrowser(t).newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	console.do("a search", searchFor("mar"),
		waitFor(`[...document.querySelectorAll('#results .result')].every(r => r.textContent.normalize('NFD').toLowerCase().includes('mar'))`),
		click("#results li:nth-child(2) button"), visible("#details-name"), chromedp.Blur(chromedp.CSS("#details")),
		chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	save := func(p *page, name string) {
		png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	save(console, "customers.png")

	console.selectCustomer("casey", caseyName)
	console.do("open assist dialog", chromedp.Click(`//button[text()="Remote Assistance"]`), visible("#assist-dialog"))
	assisted := console.openedTab("start assist", "assisted",
		fill("#assist-reason", "thermostat will not connect"), click(`#assist-form button[type=submit]`))
	assisted.do("banner", visible("#assist-banner"), visible("#devices form"), chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
	save(assisted, "dashboard-assisted.png")
}

func TestBrowserSignUpThenSignIn(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	dashboard := b.newPage("new customer")
	dashboard.do("the company takes sign-ups", chromedp.Navigate(f.URL()+"/dashboard"),
		fill("#sign-in-domain", "demo"), fill("#sign-in-email", ""), // leaving the company field asks whether it is open
		visible("#sign-up-offer"), click("#sign-up-link"), visible("#sign-up-form"),
		waitFor(`document.querySelector('#sign-up-domain').value === 'demo'`))
	// A phone's Back returns to the sign-in form, not away from the dashboard.
	dashboard.do("back to sign-in", chromedp.NavigateBack(), visible("#sign-in-form"),
		waitFor(`location.pathname === '/dashboard' && document.querySelector('#sign-up').hidden`),
		click("#sign-up-link"), visible("#sign-up-form"))
	dashboard.do("a policy error at its field", fill("#sign-up-first", "Nora"), fill("#sign-up-last", "New"),
		fill("#sign-up-email", "nora.new@example.com"), fill("#sign-up-password", "123qweasdzxc"),
		click(`#sign-up-form button[type=submit]`),
		waitFor(`document.querySelector('#sign-up-password').getAttribute('aria-invalid') === 'true'`))
	dashboard.do("sign up", fill("#sign-up-password", "quiet-river-lamp-58"), click(`#sign-up-form button[type=submit]`),
		visible("#account"), waitFor(`document.querySelector('#who-name').textContent.includes('Nora')`))
	dashboard.checkNoLeakedValues("#account")
	dashboard.do("sign out", click("#sign-out"), visible("#sign-in-form"))
	dashboard.do("sign in with the new account", signIn("nora.new@example.com", "quiet-river-lamp-58"), visible("#account"))

	// A company closed to sign-up offers none.
	other := storetest.NewDomain(t, f.store)
	closed := b.newPage("closed company")
	closed.do("no offer", chromedp.Navigate(f.URL()+"/dashboard"), fill("#sign-in-domain", other.Slug), fill("#sign-in-email", ""))
	time.Sleep(300 * time.Millisecond) // the answer to signUpOpen arrives meanwhile
	if eval[bool](closed, `!document.querySelector('#sign-up-offer').hidden`) {
		t.Error("a company closed to sign-up offers it")
	}
}
