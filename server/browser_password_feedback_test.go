package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/iotconsole/bff/internal/demo"
)

// strengthSays waits until the strength feedback under the field input says
// each of words, the field is described by it and it is a live region, no
// longer busy.
func strengthSays(input string, words ...string) chromedp.Action[chromedp.Void] {
	conds := []string{
		fmt.Sprintf(`document.querySelector('#%s-strength')?.getAttribute('aria-live') === 'polite'`, input),
		fmt.Sprintf(`!document.querySelector('#%s-strength').hasAttribute('aria-busy')`, input),
		fmt.Sprintf(`document.querySelector('#%s').getAttribute('aria-describedby').split(' ').includes('%s-strength')`, input, input),
	}
	for _, w := range words {
		conds = append(conds, fmt.Sprintf(`document.querySelector('#%s-strength').textContent.includes(%q)`, input, w))
	}
	return waitFor(strings.Join(conds, " && "))
}

// The dashboard rates a password as the person types it, with the
// server's policy and the words of the form (sign-up) or of the account
// (a forced change), and says why a weak one would be refused.
func TestBrowserPasswordFeedbackOnTheDashboard(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	person := b.newPage("person")
	person.do("open sign-up", atDesktopSize, chromedp.Navigate(f.URL()+"/dashboard"), fill("#sign-in-domain", "demo"), fill("#sign-in-email", ""),
		visible("#sign-up-offer"), click("#sign-up-link"), visible("#sign-up-form"),
		fill("#sign-up-first", "Sam"), fill("#sign-up-last", "Signup"), fill("#sign-up-email", "sam.signup@example.com"))
	person.do("twelve spaces", fill("#sign-up-password", "            "),
		strengthSays("sign-up-password", "Strength: Too easy to guess, not accepted.", "invisible characters only"))
	person.do("a repetition", fill("#sign-up-password", "aaaaaaaaaaaa"), strengthSays("sign-up-password", "repetition", "Avoid repeated words"))
	person.do("the person's own name", fill("#sign-up-password", "Sam.Signup.1990"), strengthSays("sign-up-password", "built on a name"))
	person.checkAccessibility("sign-up, a weak password rated")
	person.do("the company's name", fill("#sign-up-password", "Demo-Heating-2025"), strengthSays("sign-up-password", "company's name"))
	person.do("a strong passphrase", fill("#sign-up-password", "violet tractor hums softly"),
		strengthSays("sign-up-password", "Strength: "),
		waitFor(`document.querySelector('#sign-up-password-strength').dataset.acceptable === 'true'`))
	if text := eval[string](person, `document.querySelector('#sign-up-password-strength').textContent`); strings.Contains(text, "violet") {
		t.Errorf("the feedback shows the password: %q", text)
	}
	person.do("emptied", fill("#sign-up-password", ""), waitFor(`document.querySelector('#sign-up-password-strength').textContent === ''`))

	// A forced change rates with the customer's own words.
	support := f.login(t, demo.SupportEmail)
	const temporary = "violet-harbor-canyon-93"
	f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": temporary, "confirm": temporary, "require": true})
	casey := b.newPage("casey")
	casey.do("forced change", atDesktopSize, chromedp.Navigate(f.URL()+"/dashboard"), signIn(customerEmail, temporary), visible("#change-form"),
		fill("#change-new", "casey-customer-2020"), strengthSays("change-new", "not accepted", "built on a name"))
	casey.do("a common password", fill("#change-new", "Welcome2024!"), strengthSays("change-new", "commonly used", "Add another word or two"))
	casey.checkAccessibility("forced change, a weak password rated")
}

// The console rates the password of the reset dialog for the customer at
// hand, a generated one too, and the operator's own new password.
func TestBrowserPasswordFeedbackInTheConsole(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	console := b.newPage("support")
	console.consoleSignIn(f.URL(), demo.SupportEmail)
	console.do("new customer", click("#new-customer"), visible("#create-dialog"),
		fill("#create-first", "Carl"), fill("#create-last", "Caller"), fill("#create-email", "carl@example.com"),
		fill("#create-password", "carl-caller-1990"), strengthSays("create-password", "not accepted", "built on a name"))
	console.checkAccessibility("new customer, a weak password rated")
	console.do("close new customer", chromedp.KeyEvent("\x1b"), waitFor(`!document.querySelector('#create-dialog').open`))
	console.selectCustomer("casey", "Casey Customer")
	console.do("reset dialog", click("#reset-action"), visible("#reset-dialog"),
		fill("#reset-new", "Casey.Customer.1990"), strengthSays("reset-new", "not accepted", "built on a name"))
	console.checkAccessibility("reset dialog, a weak password rated")
	console.do("generate", click("#reset-generate"), waitFor(`document.querySelector('#reset-new').value.length >= 12`),
		waitFor(`document.querySelector('#reset-new-strength').dataset.acceptable === 'true'`), strengthSays("reset-new", "Strength: "))

	console.do("own password", chromedp.KeyEvent("\x1b"), click("#nav-security"), visible("#password-form"),
		fill("#password-new", "Sam-Support-1990"), strengthSays("password-new", "built on a name"))
	console.do("a sequence", fill("#password-new", "abcdefghijkl"), strengthSays("password-new", "sequence"))
	console.checkAccessibility("own password, a weak one rated")

	// A setup link rates with the invited operator's name.
	resp := f.post(t, f.login(t, demo.AdminEmail), inviteMutation, map[string]any{"name": "Nia Newcomer", "email": "nia.newcomer@example.com", "role": "SUPPORT"})
	url, _ := dig(resp.Data, "inviteOperator", "setupUrl").(string)
	if url == "" {
		t.Fatalf("invite: %+v", resp)
	}
	nia := b.newPage("nia")
	nia.do("setup link", atDesktopSize, chromedp.Navigate(f.URL()+url), visible("#setup-form"),
		fill("#setup-password", "nia.newcomer.1990"), strengthSays("setup-password", "not accepted", "built on a name"))
	nia.do("a strong one", fill("#setup-password", "violet tractor hums softly"),
		waitFor(`document.querySelector('#setup-password-strength').dataset.acceptable === 'true'`))
	nia.checkAccessibility("setup link, a password rated")
}

// The meter rates the password again when a field it depends on changes:
// names, email or company typed after the password turn "Very strong"
// into the CONTEXT_WORD the submit would give (the dashboard's sign-up and
// the console's New customer).
func TestBrowserStrengthFollowsTheContextFields(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	const password = "Zorvath-Quellbrook-77"
	acceptable := func(input, want string) chromedp.Action[chromedp.Void] {
		return waitFor(fmt.Sprintf(`document.querySelector('#%s-strength')?.dataset.acceptable === '%s'`, input, want))
	}
	person := b.newPage("person")
	person.do("open sign-up", atDesktopSize, chromedp.Navigate(f.URL()+"/dashboard"), fill("#sign-in-domain", "demo"), fill("#sign-in-email", ""),
		visible("#sign-up-offer"), click("#sign-up-link"), visible("#sign-up-form"))
	person.do("the password first", fill("#sign-up-password", password), acceptable("sign-up-password", "true"))
	person.do("then the name it is built on", fill("#sign-up-first", "Zorvath"), fill("#sign-up-last", "Quellbrook"),
		acceptable("sign-up-password", "false"), strengthSays("sign-up-password", "not accepted", "built on a name"))
	person.checkAccessibility("sign-up, re-rated after the name")
	person.do("another name", fill("#sign-up-first", "Sam"), fill("#sign-up-last", "Signup"), acceptable("sign-up-password", "true"))
	person.do("an email built on it", fill("#sign-up-email", "zorvath.quellbrook@example.com"), acceptable("sign-up-password", "false"))

	console := b.newPage("support")
	console.consoleSignIn(f.URL(), demo.SupportEmail)
	console.do("new customer, the password first", click("#new-customer"), visible("#create-dialog"),
		fill("#create-password", password), acceptable("create-password", "true"))
	console.do("then the names", fill("#create-first", "Zorvath"), fill("#create-last", "Quellbrook"),
		acceptable("create-password", "false"), strengthSays("create-password", "not accepted", "built on a name"))
	console.checkAccessibility("new customer, re-rated after the names")
}
