package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPagesAreAccessible runs axe-core (WCAG 2.2 A and AA, best practices) on every screen
// of the console, each of its dialogs and the dashboard, at desktop and phone size: no serious or
// critical violation.
func TestBrowserPagesAreAccessible(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		console := b.newPage("console-" + size.name)
		console.do("size", chromedp.EmulateViewport(size.width, size.height, chromedp.EmulateScale(1)),
			chromedp.Navigate(f.URL()+"/console"), visible("#sign-in-form"))
		console.checkAccessibility("sign-in")
		console.consoleSignIn(f.URL(), "admin@demo.test")
		console.checkAccessibility("customers")
		console.do("open #create-dialog", click("#new-customer"), visible("#create-dialog"))
		console.checkAccessibility("#create-dialog")
		console.do("close #create-dialog", chromedp.KeyEvent("\x1b"), waitFor(`!document.querySelector('#create-dialog').open`))
		console.selectCustomer("casey", caseyName)
		console.checkAccessibility("details")
		for _, dialog := range []struct{ button, dialog string }{
			{"#edit-action", "#edit-dialog"}, {"#reset-action", "#reset-dialog"}, {"#status-action", "#status-dialog"},
			{"#assist-action", "#assist-dialog"}, {"#delete-action", "#delete-dialog"},
		} {
			console.do("open "+dialog.dialog, click(dialog.button), visible(dialog.dialog))
			console.checkAccessibility(dialog.dialog)
			console.do("close "+dialog.dialog, chromedp.KeyEvent("\x1b"), waitFor(`!document.querySelector('`+dialog.dialog+`').open`))
		}
		for _, section := range []string{"team", "audit", "settings", "security"} {
			console.do(section, chromedp.Navigate(f.URL()+"/console#"+section), visible("#"+section))
			console.checkAccessibility(section)
		}

		dashboard := b.newPage("dashboard-" + size.name)
		dashboard.do("size", chromedp.EmulateViewport(size.width, size.height, chromedp.EmulateScale(1)),
			chromedp.Navigate(f.URL()+"/dashboard"), visible("#sign-in-form"))
		dashboard.checkAccessibility("sign-in")
		dashboard.dashboardSignIn(f.URL(), customerEmail, customerPassword)
		dashboard.checkAccessibility("devices")
		dashboard.do("activity", click("#tab-activity"), visible("#activity-view"))
		dashboard.checkAccessibility("activity")
	}
}
