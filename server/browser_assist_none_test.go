package main

import (
	"testing"

	"github.com/iotconsole/bff/internal/domains"
)

// Under NONE, control asked after a decline is given at once and the
// assisted tab says so truthfully: nobody allowed anything.
func TestBrowserControlUnderNoneSaysNoAgreementWasNeeded(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	customer := customerAtHome(t, b, f)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	assisted := console.openedTab("start a view-only assistance", "assisted", startFromConsole(console, "VIEW", "look first"))
	assisted.do("request control", visible("#request-control"), click("#request-control"),
		waitFor(`document.querySelector('#assist-control-status').textContent.includes('Waiting for the customer')`))
	customer.do("decline", visible("#assist-request"), click("#assist-decline"), waitFor(`!document.querySelector('#assist-request').open`))
	assisted.do("declined", waitFor(`document.querySelector('#assist-control-status').textContent.includes('declined')`))
	f.setAssistConsent(t, domains.AssistConsentNone)
	assisted.do("ask again under NONE", visible("#request-control"), click("#request-control"),
		waitFor(`document.querySelector('#assist-mode').textContent === 'With control.'`),
		waitFor(`document.querySelector('#assist-control-status').textContent.includes('needs no agreement')`),
		waitFor(`!document.querySelector('#assist-control-status').textContent.includes('allowed')`))
}
