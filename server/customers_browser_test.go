package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The console's customer accounts, the way operators and customers use them:
// an operator creates an account and the customer signs in to it, a
// correction reaches every open console and the customer's sign-in, two
// operators correcting one customer at once lose nothing, and the dashboard
// hands the customer a copy of its data.

// An operator (SUPPORT, on a phone-sized screen) creates a customer; the
// customer's first sign-in must choose a new password, then shows the account.
func TestBrowserOperatorCreatesACustomerWhoSignsIn(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	console := b.newPage("console")
	console.do("phone size", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
	console.consoleSignIn(f.URL(), "support@demo.test")

	// The dialog takes the focus, fits the screen, labels every control; Escape closes it and the
	// focus returns to the button.
	console.do("open the dialog", visible("#new-customer"), click("#new-customer"), visible("#create-dialog"),
		waitFor(`document.activeElement === document.querySelector('#create-first')`),
		waitFor(`document.querySelector('#create-form [name=requireChangeOnNextLogin]').checked`),
		waitFor(noOverflow), waitFor(labelled),
		chromedp.KeyEvent(kb.Escape),
		waitFor(`!document.querySelector('#create-dialog').open && document.activeElement.id === 'new-customer'`))

	// The API's answers show at their fields, with the focus there; nothing is created meanwhile.
	const email = "nora.newman@example.net"
	console.do("fill the form", click("#new-customer"), visible("#create-dialog"),
		fill("#create-first", "Nora"), fill("#create-last", "Newman"), fill("#create-email", customerEmail),
		fill("#create-phone", "+1 555 010 4242"),
		fill("#create-password", "123qweasdzxc"), fill("#create-confirm", "123qweasdzxc"),
		click(`#create-form button[type=submit]`),
		waitFor(`document.querySelector('#create-password').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#create-password-error').textContent !== ''`),
		waitFor(`document.activeElement.id === 'create-password'`))
	// The customer's email as its password: said about the customer's email (the operator is not the customer).
	console.do("the email as the password", fill("#create-password", customerEmail), fill("#create-confirm", customerEmail),
		click(`#create-form button[type=submit]`),
		waitFor(`document.querySelector('#create-password-error')?.textContent === "The password must not be the customer's email address or name: choose another."`))
	console.do("mismatch", fill("#create-password", "maple-orbit-lantern-61"), fill("#create-confirm", "maple-orbit-lantern-16"),
		click(`#create-form button[type=submit]`),
		waitFor(`document.querySelector('#create-confirm').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#create-password').getAttribute('aria-invalid') === null`))
	console.do("email taken", fill("#create-confirm", "maple-orbit-lantern-61"), click(`#create-form button[type=submit]`),
		waitFor(`document.querySelector('#create-email').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#create-email-error').textContent.includes('uses this email')`),
		waitFor(`document.activeElement.id === 'create-email'`))
	if got := searchEmails(t, f, f.login(t, "support@demo.test"), "nora newman"); len(got) != 0 {
		t.Fatalf("refused creations created %v", got)
	}

	console.do("create", fill("#create-email", email), click(`#create-form button[type=submit]`),
		waitFor(`!document.querySelector('#create-dialog').open`),
		waitFor(`document.querySelector('#details-name')?.textContent === 'Nora Newman'`),
		waitFor(`document.activeElement === document.querySelector('#details')`),
		waitFor(fmt.Sprintf(`document.querySelector('#details').textContent.includes(%q)`, email)),
		waitFor(`document.querySelector('#status').textContent.includes("Nora Newman's account is created")`),
		waitFor(`document.querySelector('#results .result[aria-current="true"] .name')?.textContent === 'Nora Newman'`),
		waitFor(noOverflow))
	console.checkNoLeakedValues("#details")
	if left := eval[string](console, `[...document.querySelectorAll('#create-form input')].map(e => e.type === 'checkbox' ? '' : e.value).join('')`); left != "" {
		t.Errorf("the dialog kept what was typed after creating: %q", left)
	}

	// The customer signs in with the password support gave, and must choose its own first.
	dashboard := b.newPage("customer")
	dashboard.do("first sign-in", chromedp.Navigate(f.URL()+"/dashboard"), signIn(email, "maple-orbit-lantern-61"),
		visible("#change-form"), waitFor(`document.querySelector('#account').hidden`))
	dashboard.do("choose a password", fill("#change-new", "nora-owns-this-river-8"), fill("#change-confirm", "nora-owns-this-river-8"),
		click(`#change-form button[type=submit]`), visible("#account"),
		waitFor(`document.querySelector('#who-name').textContent === 'Nora Newman'`),
		waitFor(`document.querySelector('#devices').textContent.includes('No devices yet.')`))
	dashboard.checkNoLeakedValues("#account")
	dashboard.do("sign out", click("#sign-out"), visible("#sign-in-form"))
	dashboard.do("sign in with its own password", signIn(email, "nora-owns-this-river-8"), visible("#account"),
		waitFor(`document.querySelector('#who-name').textContent === 'Nora Newman'`))
}

// updateProbe keeps, in a console, the input of every updateCustomer the page sends.
const updateProbe = `(() => {
  if (window.updates) return;
  window.updates = [];
  const send = window.fetch;
  window.fetch = function (resource, init) {
    try {
      const body = JSON.parse(init?.body ?? 'null');
      if (body?.query?.includes('updateCustomer(')) window.updates.push(body.variables.input);
    } catch { /* not a GraphQL request */ }
    return send.apply(this, arguments);
  };
})()`

// An email corrected in one console shows in another console at once; the
// customer then signs in with the new email, and no longer with the old.
func TestBrowserEmailCorrectionShowsInEveryConsole(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	watcher := b.newPage("watcher")
	watcher.consoleSignIn(f.URL(), "support@demo.test")
	watcher.selectCustomer("casey", caseyName)
	editor := b.newPage("editor")
	editor.consoleSignIn(f.URL(), "admin@demo.test")
	editor.selectCustomer("casey", caseyName)

	editor.do("open edit", click("#edit-action"), visible("#edit-dialog"),
		waitFor(`document.activeElement === document.querySelector('#edit-first')`),
		waitFor(fmt.Sprintf(`document.querySelector('#edit-email').value === %q`, customerEmail)),
		waitFor(`document.querySelector('#edit-last').value === 'Customer' && document.querySelector('#edit-phone').value === '+1 555 010 7777'`),
		waitFor(labelled))
	version := f.current(t, f.login(t, "admin@demo.test"))["version"]
	const newEmail = "casey.moved@example.org"
	editor.do("save the email", chromedp.Evaluate[chromedp.Void](updateProbe),
		fill("#edit-email", newEmail), click(`#edit-form button[type=submit]`),
		waitFor(`!document.querySelector('#edit-dialog').open`),
		waitFor(fmt.Sprintf(`document.querySelector('#details').textContent.includes(%q)`, newEmail)),
		waitFor(`document.querySelector('#status').textContent === "Casey Customer's details are saved."`),
		waitFor(`document.activeElement.id === 'edit-action'`))
	// Only the changed field went out, with the version the details were read at.
	sent := eval[[]map[string]any](editor, `window.updates`)
	if len(sent) != 1 || len(sent[0]) != 3 || sent[0]["email"] != newEmail || sent[0]["version"] != version || sent[0]["customerId"] != f.customerID() {
		t.Errorf("updateCustomer inputs sent: %v, want one with customerId, version %v and email only", sent, version)
	}

	watcher.do("the other console follows",
		waitFor(fmt.Sprintf(`document.querySelector('#details').textContent.includes(%q)`, newEmail)),
		waitFor(fmt.Sprintf(`document.querySelector('#results .result[aria-current="true"] .contact').textContent.includes(%q)`, newEmail)),
		waitFor(`document.querySelector('#status').textContent === "Casey Customer's details were corrected by Ada Admin."`),
		waitFor(`document.querySelector('#details-activity')?.textContent.includes('Details corrected by an administrator')`))
	watcher.checkNoLeakedValues("#details")

	if _, code, _ := f.customerLogin(t, customerPassword); code != "INVALID_CREDENTIALS" {
		t.Errorf("the old email signs in: %q", code)
	}
	dashboard := b.newPage("customer")
	dashboard.dashboardSignIn(f.URL(), newEmail, customerPassword)
	dashboard.do("its account", waitFor(`document.querySelector('#who-name').textContent === 'Casey Customer'`))
}

// Two operators correct one customer at once: the second save meets the
// first, says so, shows the customer as it now is and keeps everything the
// second operator typed; saving again keeps both corrections.
func TestBrowserConcurrentCorrectionsLoseNothing(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	first := b.newPage("first")
	first.consoleSignIn(f.URL(), "admin@demo.test")
	first.selectCustomer("casey", caseyName)
	second := b.newPage("second")
	second.consoleSignIn(f.URL(), "support@demo.test")
	second.selectCustomer("casey", caseyName)

	second.do("second opens edit", click("#edit-action"), visible("#edit-dialog"),
		waitFor(`document.querySelector('#edit-first').value === 'Casey'`))
	first.do("first saves", click("#edit-action"), visible("#edit-dialog"),
		waitFor(`document.querySelector('#edit-first').value === 'Casey'`),
		fill("#edit-last", "Quintero"), fill("#edit-phone", "+1 555 010 1111"),
		click(`#edit-form button[type=submit]`),
		waitFor(`!document.querySelector('#edit-dialog').open`),
		waitFor(`document.querySelector('#details-name').textContent === 'Casey Quintero'`))

	// The second operator has typed a first name and a phone number meanwhile.
	second.do("second saves",
		fill("#edit-first", "Kasey"), fill("#edit-phone", "+1 555 010 8888"),
		click(`#edit-form button[type=submit]`),
		waitFor(`document.querySelector('#edit-form .form-error').textContent.includes('Someone else changed this customer')`))
	second.do("nothing lost",
		waitFor(`document.querySelector('#edit-dialog').open`),
		waitFor(`document.querySelector('#details-name').textContent === 'Casey Quintero'`), // the details were read again
		waitFor(`document.querySelector('#edit-first').value === 'Kasey'`),                  // typed: kept
		waitFor(`document.querySelector('#edit-phone').value === '+1 555 010 8888'`),        // typed: kept, with the other value told
		waitFor(`document.querySelector('#edit-phone-note').textContent.includes('+1 555 010 1111')`),
		waitFor(`document.querySelector('#edit-last').value === 'Quintero'`), // left alone: the other operator's
		waitFor(`document.activeElement.id === 'edit-phone'`),
		waitFor(labelled))
	admin := f.login(t, "admin@demo.test")
	if c := f.current(t, admin); c["firstName"] != "Casey" || c["lastName"] != "Quintero" || c["phone"] != "+1 555 010 1111" {
		t.Fatalf("after the conflict the customer is %v, want the first correction only", c)
	}

	second.do("second saves again", click(`#edit-form button[type=submit]`),
		waitFor(`!document.querySelector('#edit-dialog').open`),
		waitFor(`document.querySelector('#details-name').textContent === 'Kasey Quintero'`),
		waitFor(`document.querySelector('#details').textContent.includes('+1 555 010 8888')`),
		waitFor(`document.querySelector('#results .result[aria-current="true"] .name').textContent === 'Kasey Quintero'`))
	if c := f.current(t, admin); c["firstName"] != "Kasey" || c["lastName"] != "Quintero" || c["phone"] != "+1 555 010 8888" {
		t.Errorf("the customer is %v, want both corrections", c)
	}
	first.do("the first console follows", waitFor(`document.querySelector('#details-name').textContent === 'Kasey Quintero'`))

	// Escape leaves without saving, and a dialog closed with nothing changed sends nothing.
	second.do("escape", click("#edit-action"), visible("#edit-dialog"), chromedp.Evaluate[chromedp.Void](updateProbe),
		fill("#edit-first", "Nobody"), chromedp.KeyEvent(kb.Escape),
		waitFor(`!document.querySelector('#edit-dialog').open && document.activeElement.id === 'edit-action'`),
		click("#edit-action"), visible("#edit-dialog"),
		waitFor(`document.querySelector('#edit-first').value === 'Kasey'`),
		click(`#edit-form button[type=submit]`),
		waitFor(`!document.querySelector('#edit-dialog').open`),
		waitFor(`document.querySelector('#status').textContent === 'Nothing was changed.'`))
	if n := eval[int](second, `window.updates.length`); n != 0 {
		t.Errorf("closing and saving nothing sent %d updates", n)
	}
}

// "Download my data" hands the customer its data export as my-data.json.
func TestBrowserDownloadMyData(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	dashboard := b.newPage("customer")
	dashboard.dashboardSignIn(f.URL(), customerEmail, customerPassword)

	// The browser saves downloads into dir, and says so.
	dir := t.TempDir()
	events, cancel := context.WithTimeout(dashboard.ctx, 15*time.Second)
	defer cancel()
	began := chromedp.Events(events, cdpbrowser.DownloadWillBegin)
	progress := chromedp.Events(events, cdpbrowser.DownloadProgress)
	if _, err := chromedp.Call(dashboard.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: chromedp.FromContext(dashboard.ctx).BrowserContextID,
		DownloadPath: dir, EventsEnabled: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	// The page's Blob, kept for the test to read.
	const blobProbe = `(() => {
	  window.blobs = [];
	  const create = URL.createObjectURL;
	  URL.createObjectURL = (blob) => { const url = create(blob); window.blobs.push({ url, blob }); return url; };
	})()`
	dashboard.do("download", chromedp.Evaluate[chromedp.Void](blobProbe), visible("#download-data"), click("#download-data"),
		waitFor(`document.querySelector('#download-status').textContent === 'Your data is downloaded as my-data.json.'`),
		waitFor(`window.blobs.length === 1`))

	for ev, err := range began {
		if err != nil {
			t.Fatalf("no download began: %v", err)
		}
		if ev.SuggestedFilename != "my-data.json" {
			t.Errorf("the download is named %q, want my-data.json", ev.SuggestedFilename)
		}
		break
	}
	var saved []byte
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("the download did not complete: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("the download was canceled")
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			if saved, err = os.ReadFile(filepath.Join(dir, ev.GUID)); err != nil {
				t.Fatal(err)
			}
			break
		}
	}

	text, err := chromedp.Run(dashboard.ctx, chromedp.Evaluate[string](`window.blobs[0].blob.text()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if typ := eval[string](dashboard, `window.blobs[0].blob.type`); typ != "application/json" {
		t.Errorf("the blob's type is %q", typ)
	}
	if string(saved) != text {
		t.Errorf("the file saved differs from the page's blob:\n%s\n%s", saved, text)
	}
	var export struct {
		Format   string            `json:"format"`
		Customer map[string]string `json:"customer"`
		Devices  []struct {
			Name, SerialNumber string
		} `json:"devices"`
		Activity []map[string]any `json:"activity"`
	}
	if err := json.Unmarshal([]byte(text), &export); err != nil {
		t.Fatalf("the download is not JSON: %v\n%s", err, text)
	}
	if export.Format != "iotconsole.customer-export.v1" || export.Customer["id"] != f.customerID() ||
		export.Customer["email"] != customerEmail || export.Customer["firstName"] != "Casey" ||
		export.Customer["lastName"] != "Customer" || export.Customer["phone"] != "+1 555 010 7777" {
		t.Errorf("the export's profile: %s %v", export.Format, export.Customer)
	}
	if len(export.Devices) != 1 || export.Devices[0].Name != "Hall" || export.Devices[0].SerialNumber != f.device.SerialNumber {
		t.Errorf("the export's devices: %+v", export.Devices)
	}
	if len(export.Activity) == 0 { // the sign-in at least
		t.Error("the export has no activity")
	}
	if strings.Contains(strings.ToLower(text), "argon2") || strings.Contains(text, customerPassword) {
		t.Error("the export holds the password")
	}
}

// An ADMIN deletes a customer whose dashboard is open: the dialog says what
// erasure does and works only once the customer's email is typed; the
// dashboard then says the account was deleted and offers the sign-in, and the
// console finds the customer no more.
func TestBrowserDeletingACustomerSignsItsDashboardOut(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	dashboard := b.newPage("customer")
	dashboard.dashboardSignIn(f.URL(), customerEmail, customerPassword)
	console := b.newPage("admin")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	console.selectCustomer("casey", caseyName)

	// The dialog takes the focus and says what is lost; Escape closes it and the focus returns.
	console.do("open and escape", visible("#delete-action"),
		waitFor(`document.querySelector('#delete-action').classList.contains('danger')`),
		click("#delete-action"), visible("#delete-dialog"),
		waitFor(`document.activeElement === document.querySelector('#delete-email')`),
		waitFor(`document.querySelector('#delete-title').textContent === 'Delete Casey Customer?'`),
		waitFor(`(t => t.includes('its devices and its personal data are removed for good') && t.includes("The audit log keeps only the customer's id"))(document.querySelector('#delete-explanation').textContent.replace(/\s+/g, ' '))`),
		waitFor(labelled),
		chromedp.KeyEvent(kb.Escape),
		waitFor(`!document.querySelector('#delete-dialog').open && document.activeElement.id === 'delete-action'`))

	// A wrong email keeps the button disabled; the right one, in other case and spaces, enables it.
	console.do("wrong email", click("#delete-action"), visible("#delete-dialog"),
		fill("#delete-reason", "Asked to be forgotten (ticket 4711)"),
		fill("#delete-email", "casey.customer@example.co"),
		waitFor(`document.querySelector('#delete-confirm').disabled`))
	if got := searchEmails(t, f, f.login(t, "admin@demo.test"), "casey"); len(got) != 1 {
		t.Fatalf("before the deletion the search finds %v", got)
	}
	console.do("delete", fill("#delete-email", " Casey.Customer@Example.com "),
		waitFor(`!document.querySelector('#delete-confirm').disabled`),
		click("#delete-confirm"),
		waitFor(`!document.querySelector('#delete-dialog').open`),
		waitFor(`document.querySelector('#details').hidden`),
		waitFor(`document.querySelector('#status').textContent === 'Casey Customer was deleted, with their devices and personal data.'`),
		waitFor(`![...document.querySelectorAll('#results .name')].some(e => e.textContent === 'Casey Customer')`),
		waitFor(`document.activeElement.id === 'search'`),
		// The count follows (it stayed at "1 customer"), once: the event that follows finds the row gone.
		waitFor(`document.querySelector('#result-count').textContent === 'No customers match.'`))

	dashboard.do("signed out", visible("#sign-in-form"),
		waitFor(`document.querySelector('#notice').textContent.includes('Your account has been deleted')`),
		waitFor(`document.querySelector('#account').hidden`))

	console.do("search again", searchFor("casey cust"),
		waitFor(`document.querySelector('#result-count').textContent === 'No customers match.'`))
	if got := searchEmails(t, f, f.login(t, "admin@demo.test"), "casey"); len(got) != 0 {
		t.Errorf("after the deletion the search finds %v", got)
	}
}
