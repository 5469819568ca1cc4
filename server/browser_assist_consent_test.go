package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iotconsole/bff/internal/assist"
)

// Remote assistance a customer can trust (issue 22), in the browser: the
// operator's console and assisted tab, the customer's own dashboard in a
// second browser context. The demo domain asks for consent to control
// (assistConsent CONTROL, a new domain's default).

// startFromConsole opens the Remote Assistance dialog for Casey in console
// and fills it: mode VIEW or CONTROL, and a reason.
func startFromConsole(console *page, mode, reason string) chromedp.Action[chromedp.Void] {
	console.do("open assist dialog", click("#assist-action"), visible("#assist-dialog"))
	return chromedp.Steps(click(fmt.Sprintf(`#assist-mode input[value=%s]`, mode)), fill("#assist-reason", reason),
		click(`#assist-form button[type=submit]`))
}

// customerAtHome signs Casey in to the dashboard in a browser context of its
// own, and waits until the server can ask Casey (the dashboard listens).
func customerAtHome(t *testing.T, b *browser, f *accountFixture) *page {
	t.Helper()
	customer := b.newPage("customer")
	customer.dashboardSignIn(f.URL(), customerEmail, customerPassword)
	for deadline := time.Now().Add(10 * time.Second); !f.assist.Online(context.Background(), f.customer.ID); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the dashboard's accountEvents never reached the server")
		}
	}
	return customer
}

// A VIEW assistance shows the dashboard as the customer sees it and
// refuses a change, saying why.
func TestBrowserViewOnlyAssistanceRefusesARename(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	console.do("view only is the default", click("#assist-action"), visible("#assist-dialog"),
		waitFor(`document.querySelector('#assist-mode input[value=VIEW]').checked`))
	console.checkAccessibility("assist dialog with its modes")
	assisted := console.openedTab("start a view-only assistance", "assisted", fill("#assist-reason", "thermostat offline"),
		click(`#assist-form button[type=submit]`))
	assisted.do("view only", visible("#assist-banner"), visible("#devices form"),
		waitFor(`document.querySelector('#assist-mode').textContent === 'View only.'`), visible("#request-control"))
	assisted.do("a rename is refused", fill("#device-0-name", "Kitchen"), click(`#devices form button[type=submit]`),
		waitFor(`document.querySelector('#devices').textContent.includes('view-only')`))
	if resp := f.post(t, f.login(t, "admin@demo.test"), viewerDevicesOf, map[string]any{"id": f.customerID()}); !strings.Contains(fmt.Sprint(resp.Data), "Hall") {
		t.Fatalf("the device after the refused rename: %+v", resp)
	}
	assisted.checkAccessibility("a view-only assistance")
}

const viewerDevicesOf = `query($id: ID!) { customer(id: $id) { devices { name } } }`

// The customer agrees to control, asked from the assisted tab: the same
// tab gains control and renames a device, and the customer sees it happen.
func TestBrowserCustomerAgreesToControl(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	customer := customerAtHome(t, b, f)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	assisted := console.openedTab("start a view-only assistance", "assisted", startFromConsole(console, "VIEW", "thermostat offline"))
	assisted.do("view only", visible("#request-control"), waitFor(`document.querySelector('#assist-mode').textContent === 'View only.'`))
	customer.do("support shows live", visible("#assist-live"),
		waitFor(`document.querySelector('#assist-live').textContent.includes('Sam Support (view only)')`))

	assisted.do("request control", click("#request-control"),
		waitFor(`document.querySelector('#assist-control-status').textContent.includes('Waiting for the customer')`))
	customer.do("asked", visible("#assist-request"),
		waitFor(`document.querySelector('#assist-request-text').textContent.includes('Sam from support asks to act in your account')`),
		waitFor(`document.querySelector('#assist-request-text').textContent.includes('thermostat offline')`))
	customer.checkAccessibility("the consent prompt")
	customer.do("allow", click("#assist-approve"), waitFor(`!document.querySelector('#assist-request').open`),
		waitFor(`document.querySelector('#assist-live').textContent.includes('with control')`))
	assisted.do("control, in the same tab", waitFor(`document.querySelector('#assist-mode').textContent === 'With control.'`),
		waitFor(`document.querySelector('#request-control').hidden`),
		waitFor(`document.querySelector('#assist-control-status').textContent.includes('allowed control')`))
	assisted.do("rename", fill("#device-0-name", "Kitchen"), click(`#devices form button[type=submit]`),
		waitFor(`document.querySelector('#devices .saved').textContent === 'Saved.'`))
	customer.do("the rename shows live", waitFor(`document.querySelector('#assist-live').textContent.includes('Sam Support renamed the device Hall to Kitchen')`))
	customer.checkAccessibility("the live panel")
}

// The console waits for the customer's answer: a decline is shown as it
// comes; asked again, the customer agrees and the operator opens the tab.
func TestBrowserConsoleWaitsForTheCustomer(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	customer := customerAtHome(t, b, f)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	console.do("ask for control", startFromConsole(console, "CONTROL", "router setup"), visible("#assist-waiting"),
		waitFor(`document.querySelector('#assist-waiting').textContent.includes('Waiting for Casey Customer to answer')`), visible("#assist-withdraw"))
	console.checkAccessibility("waiting for the customer")
	customer.do("asked", visible("#assist-request"), waitFor(`document.querySelector('#assist-request-text').textContent.includes('router setup')`))
	customer.do("decline", click("#assist-decline"), waitFor(`!document.querySelector('#assist-request').open`))
	console.do("declined, live", waitFor(`document.querySelector('#assist-waiting').textContent.includes('Casey Customer declined')`),
		waitFor(`document.querySelector('#assist-open').hidden`))

	console.do("close", click("#assist-dialog [data-close]"), waitFor(`!document.querySelector('#assist-dialog').open`))
	console.do("ask again", startFromConsole(console, "CONTROL", "router setup, second try"), visible("#assist-waiting"))
	customer.do("asked again", visible("#assist-request"), waitFor(`document.querySelector('#assist-request-text').textContent.includes('second try')`),
		click("#assist-approve"), waitFor(`!document.querySelector('#assist-request').open`))
	console.do("agreed, live", waitFor(`document.querySelector('#assist-waiting').textContent.includes('agreed')`), visible("#assist-open"))
	assisted := console.openedTab("open the dashboard", "assisted", click("#assist-open"))
	assisted.do("control at once", visible("#devices form"), waitFor(`document.querySelector('#assist-mode').textContent === 'With control.'`))

	// The customer's history tells the declined request from the assistance that got in.
	customer.do("history", chromedp.Reload(), click("#tab-activity"), visible("#activity-view"),
		waitFor(`document.querySelectorAll('#activity > li').length === 2`))
	if got := eval[[]string](customer, `[...document.querySelectorAll('#activity > li > p:first-child')].map(p => p.textContent)`); len(got) != 2 ||
		strings.Count(strings.Join(got, "|"), "asked to access your account") != 1 || !strings.Contains(strings.Join(got, "|"), "(you declined)") ||
		strings.Count(strings.Join(got, "|"), "assisted you") != 1 {
		t.Errorf("the customer's access history: %q", got)
	}
}

// A request nobody answers expires after 5 minutes: the console says so and
// the customer's prompt goes away.
func TestBrowserAssistRequestExpires(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	customer := customerAtHome(t, b, f)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	console.do("ask for control", startFromConsole(console, "CONTROL", "nobody answers"), visible("#assist-waiting"))
	customer.do("asked", visible("#assist-request"))
	f.clock.Advance(assist.RequestTTL)
	console.do("expired, live", waitFor(`document.querySelector('#assist-waiting').textContent.includes('did not answer within 5 minutes')`))
	customer.do("the prompt goes", waitFor(`!document.querySelector('#assist-request').open`))
}

// The customer ends an assistance from its own dashboard: the assisted tab
// is signed out at once.
func TestBrowserCustomerEndsTheAssistance(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	customer := customerAtHome(t, b, f)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	assisted := console.openedTab("start a view-only assistance", "assisted", startFromConsole(console, "VIEW", "quick look"))
	assisted.do("assisting", visible("#devices form"))
	customer.do("end it", visible("#assist-live"), chromedp.Click(`//section[@id="assist-live"]//button[text()="End assistance"]`),
		waitFor(`document.querySelector('#assist-live').hidden`), waitFor(`document.querySelector('#status').textContent.includes('their access stopped')`))
	assisted.do("signed out at once", waitFor(`document.querySelector('#notice').textContent.includes('assistance has ended')`),
		waitFor(`document.querySelectorAll('#devices form').length === 0`))
}
