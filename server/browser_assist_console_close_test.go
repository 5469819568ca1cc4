package main

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Closing the console's waiting dialog (Escape, Cancel) while the customer
// has not answered withdraws the request: the customer's prompt goes away.
// An assistance agreed to after the dialog was closed without opening the
// tab still opens from the details ("Open dashboard").
func TestBrowserConsoleClosingTheWaitWithdrawsAndDetailsOpenTheDashboard(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	customer := customerAtHome(t, b, f)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)

	console.do("ask for control", startFromConsole(console, "CONTROL", "escape withdraws"), visible("#assist-waiting"))
	customer.do("asked", visible("#assist-request"), waitFor(`document.querySelector('#assist-request-text').textContent.includes('escape withdraws')`))
	console.do("Escape closes and withdraws", chromedp.KeyEvent(kb.Escape), waitFor(`!document.querySelector('#assist-dialog').open`),
		waitFor(`document.querySelector('#status').textContent.includes('withdrew the request')`))
	customer.do("the prompt goes", waitFor(`!document.querySelector('#assist-request').open`))

	console.do("ask again", startFromConsole(console, "CONTROL", "cancel withdraws"), visible("#assist-waiting"))
	customer.do("asked again", visible("#assist-request"), waitFor(`document.querySelector('#assist-request-text').textContent.includes('cancel withdraws')`))
	console.do("Cancel closes and withdraws", click("#assist-dialog [data-close]"), waitFor(`!document.querySelector('#assist-dialog').open`),
		waitFor(`document.querySelector('#status').textContent.includes('withdrew the request')`))
	customer.do("the prompt goes again", waitFor(`!document.querySelector('#assist-request').open`))

	console.do("a third time", startFromConsole(console, "CONTROL", "agreed later"), visible("#assist-waiting"))
	customer.do("allow", visible("#assist-request"), waitFor(`document.querySelector('#assist-request-text').textContent.includes('agreed later')`),
		click("#assist-approve"), waitFor(`!document.querySelector('#assist-request').open`))
	console.do("agreed, closed without opening", waitFor(`document.querySelector('#assist-waiting').textContent.includes('agreed')`),
		click("#assist-dialog [data-close]"), waitFor(`!document.querySelector('#assist-dialog').open`),
		waitFor(`document.querySelector('#assists')?.textContent.includes('Open dashboard')`))
	console.checkAccessibility("an agreed assistance in the details")
	assisted := console.openedTab("open from the details", "assisted", chromedp.Click(`//section[@id="assists"]//button[text()="Open dashboard"]`))
	assisted.do("control at once", visible("#devices form"), waitFor(`document.querySelector('#assist-mode').textContent === 'With control.'`))
	customer.do("still running", waitFor(`document.querySelector('#assist-live').textContent.includes('with control')`))
}
