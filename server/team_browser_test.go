package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The console's Team, Audit log and Security sections, the way operators use
// them: an ADMIN invites a person who sets a password with the link, disables
// an operator who is signed in elsewhere, reads and filters the audit log; an
// operator changes its own password; SUPPORT on a phone sees only its own.

const (
	setupInvalidMessage = "This link is used, expired or wrong: ask an admin for a new one."
	disabledMessage     = "Your operator account has been disabled, so you have been signed out. Ask an ADMIN of your team if you think this is a mistake."
	// navLinks is the text of the console's navigation, link by link.
	navLinks = `[...document.querySelectorAll('#nav a')].map(a => a.textContent).join()`
)

// consoleSignInAs opens the console in p and signs an operator of the demo domain in with password.
func (p *page) consoleSignInAs(base, email, password string) {
	p.b.t.Helper()
	p.do("console sign-in "+email, chromedp.Navigate(base+"/console"), signIn(email, password),
		visible("#search"), waitFor(`document.querySelectorAll('#results li').length > 0`))
}

// operatorRow is the CSS selector of the Team list's row of the operator with email.
func operatorRow(email string) string { return fmt.Sprintf(`#operators li[data-email=%q]`, email) }

// rowText is a JavaScript expression: the text of the Team list's row of email, empty without one.
func rowText(email string) string {
	return fmt.Sprintf(`(document.querySelector(%q)?.textContent || '')`, operatorRow(email))
}

// openTeam opens the Team section and waits for the list.
func (p *page) openTeam() {
	p.b.t.Helper()
	p.do("open team", click("#nav-team"), visible("#team"),
		waitFor(`location.hash === '#team' && document.querySelector('#nav-team').getAttribute('aria-current') === 'page'`),
		waitFor(rowText("support@demo.test")+`.includes('Sam Support')`))
}

// An ADMIN invites Nia as SUPPORT; the link opened in another browser lets
// her choose a password and signs her in, without the ADMIN's sections; the
// link then works no more, and the team list shows her set up.
func TestBrowserTeamInviteAndSetup(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	admin := b.newPage("admin")
	admin.consoleSignIn(f.URL(), "admin@demo.test")
	if links := eval[string](admin, navLinks); links != "Customers,Team,Audit log,Settings,Security" {
		t.Errorf("an ADMIN's navigation: %q", links)
	}
	admin.openTeam()
	admin.do("own row has no actions", waitFor(rowText("admin@demo.test")+`.includes('(you)')`),
		waitFor(fmt.Sprintf(`document.querySelectorAll('%s button, %s select').length === 0`, operatorRow("admin@demo.test"), operatorRow("admin@demo.test"))),
		waitFor(labelled))

	// The dialog takes the focus; Escape closes it and the focus returns to the button.
	admin.do("invite dialog by keyboard", click("#invite"), visible("#invite-dialog"),
		waitFor(`document.activeElement.id === 'invite-name'`), waitFor(labelled),
		chromedp.KeyEvent(kb.Escape),
		waitFor(`!document.querySelector('#invite-dialog').open && document.activeElement.id === 'invite'`))
	admin.do("email taken", click("#invite"), visible("#invite-dialog"),
		fill("#invite-name", "Nia New"), fill("#invite-email", "support@demo.test"),
		click(`#invite-form button[type=submit]`),
		waitFor(`document.querySelector('#invite-email').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#invite-email-error').textContent === 'Someone on the team already uses this email.'`),
		waitFor(`document.activeElement.id === 'invite-email'`))
	admin.do("invite", fill("#invite-email", "nia@demo.test"),
		waitFor(`document.querySelector('#invite-role').value === 'SUPPORT'`),
		click(`#invite-form button[type=submit]`),
		visible("#link-dialog"),
		waitFor(`document.querySelector('#link-url').value.includes('#setup=')`),
		waitFor(`document.querySelector('#status').textContent === 'Nia New is invited as SUPPORT.'`))
	link := eval[string](admin, `document.querySelector('#link-url').value`)
	if !strings.HasPrefix(link, f.URL()+"/console#setup=") {
		t.Fatalf("the setup link %q is not absolute (%s/console#setup=...)", link, f.URL())
	}
	if text := eval[string](admin, `document.querySelector('#link-explanation').textContent.replace(/\s+/g, ' ')`); !strings.Contains(text, "works once, within 24 hours") {
		t.Errorf("the link dialog says %q", text)
	}
	admin.do("copy", click("#link-copy"), waitFor(`document.querySelector('#link-copied').textContent !== ''`))
	admin.do("done", click(`#link-dialog [data-close]`),
		waitFor(`!document.querySelector('#link-dialog').open && document.activeElement.id === 'invite'`),
		waitFor(`document.querySelector('#link-url').value === ''`), // shown once
		waitFor(rowText("nia@demo.test")+`.includes('Setup pending')`),
		waitFor(rowText("nia@demo.test")+`.includes('Nia New')`))

	// Nia opens the link on her own computer.
	nia := b.newPage("nia")
	nia.do("open the link", chromedp.Navigate(link), visible("#setup-form"),
		waitFor(`document.activeElement.id === 'setup-password'`), waitFor(labelled))
	if href := eval[string](nia, `location.href`); strings.Contains(href, "setup") || href != f.URL()+"/console" {
		t.Errorf("the ticket stayed in the address bar: %s", href)
	}
	nia.do("mismatch", fill("#setup-password", "violet-maple-harbor-58"), fill("#setup-confirm", "violet-maple-harbor-85"),
		click(`#setup-form button[type=submit]`),
		waitFor(`document.querySelector('#setup-confirm').getAttribute('aria-invalid') === 'true'`))
	nia.do("too short", fill("#setup-password", "short"), fill("#setup-confirm", "short"),
		click(`#setup-form button[type=submit]`),
		waitFor(`document.querySelector('#setup-password').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#setup-password-error').textContent !== ''`))
	nia.do("choose a password", fill("#setup-password", "violet-maple-harbor-58"), fill("#setup-confirm", "violet-maple-harbor-58"),
		click(`#setup-form button[type=submit]`), visible("#search"),
		waitFor(`document.querySelectorAll('#results li').length > 0`),
		waitFor(`document.querySelector('#who-name').textContent.startsWith('Nia New')`),
		waitFor(`document.querySelector('#status').textContent.includes('your password is set')`),
		waitFor(`sessionStorage.getItem('bff.console.token') !== null`))
	if links := eval[string](nia, navLinks); links != "Customers,Security" {
		t.Errorf("SUPPORT's navigation: %q, want Customers and Security only", links)
	}
	if n := eval[int](nia, `document.querySelectorAll('#nav-team, #nav-audit').length`); n != 0 {
		t.Errorf("SUPPORT's page holds %d Team or Audit log links", n)
	}
	nia.do("team by address falls back", chromedp.Navigate("about:blank"), chromedp.Navigate(f.URL()+"/console#team"), visible("#search"),
		waitFor(`location.hash === '#customers' && document.querySelector('#team').hidden`))
	if token, resp := operatorSignIn(t, f.testInstance, "nia@demo.test", "violet-maple-harbor-58"); token == "" {
		t.Errorf("Nia cannot sign in with her password: %+v", resp)
	}

	// The link works once.
	again := b.newPage("again")
	again.do("the link again", chromedp.Navigate(link), visible("#setup-form"),
		fill("#setup-password", "someone-else-tries-99"), fill("#setup-confirm", "someone-else-tries-99"),
		click(`#setup-form button[type=submit]`),
		waitFor(fmt.Sprintf(`document.querySelector('#setup-form .form-error').textContent === %q`, setupInvalidMessage)),
		waitFor(`document.querySelector('#search').offsetParent === null`))

	admin.do("reload shows nia set up", chromedp.Reload(), visible("#team"),
		waitFor(rowText("nia@demo.test")+`.includes('Nia New')`),
		waitFor(`!`+rowText("nia@demo.test")+`.includes('Setup pending')`))
}

// An operator signed in elsewhere is signed out the moment an ADMIN disables
// it, and told why, and the customer's dashboard it was assisting in is
// signed out too; lowering a role ends its session too; enabled again, it
// signs in. A reissued setup link is shown once, and the old password stops.
func TestBrowserTeamDisableSignsTheOperatorOut(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	olgaID, _ := invite(t, f.testInstance, f.login(t, "admin@demo.test"), "Olga Other", "olga@demo.test", "SUPPORT")
	olga := b.newPage("olga")
	olga.consoleSignInAs(f.URL(), "olga@demo.test", newOperatorPassword)
	admin := b.newPage("admin")
	admin.consoleSignIn(f.URL(), "admin@demo.test")
	admin.openTeam()
	row := operatorRow("olga@demo.test")
	status := fmt.Sprintf(`[id="op-status-%s"]`, olgaID)
	roleSelect := fmt.Sprintf(`[id="op-role-%s"]`, olgaID)

	// Raising asks first, and so does lowering, which signs Olga out.
	admin.do("make admin", waitFor(fmt.Sprintf(`document.querySelector(%q).value === 'SUPPORT'`, roleSelect)),
		chooseOption(roleSelect, "ADMIN"), visible("#team-dialog"),
		waitFor(`document.querySelector('#team-dialog-title').textContent === 'Make Olga Other an ADMIN?'`),
		chromedp.KeyEvent(kb.Escape),
		waitFor(`!document.querySelector('#team-dialog').open`),
		waitFor(fmt.Sprintf(`document.querySelector(%q).value === 'SUPPORT'`, roleSelect)), // cancelled: unchanged
		waitFor(fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, roleSelect)),
		chooseOption(roleSelect, "ADMIN"), visible("#team-dialog"), click("#team-confirm"),
		waitFor(`!document.querySelector('#team-dialog').open`),
		waitFor(`document.querySelector('#status').textContent === 'Olga Other is ADMIN now.'`),
		waitFor(fmt.Sprintf(`document.querySelector(%q).value === 'ADMIN'`, roleSelect)))
	olga.do("olga sees the admin's sections after a reload", chromedp.Reload(), visible("#search"),
		waitFor(navLinks+` === 'Customers,Team,Audit log,Settings,Security'`))
	admin.do("make support", chooseOption(roleSelect, "SUPPORT"), visible("#team-dialog"),
		waitFor(`document.querySelector('#team-dialog-explanation').textContent.includes('signed out everywhere at once')`),
		click("#team-confirm"), waitFor(`!document.querySelector('#team-dialog').open`),
		waitFor(`document.querySelector('#status').textContent === 'Olga Other is SUPPORT now and was signed out.'`))
	olga.do("lowered: signed out", visible("#sign-in-form"),
		waitFor(`document.querySelector('#sign-in-notice').textContent === 'Your session has ended. Sign in again.'`))
	olga.consoleSignInAs(f.URL(), "olga@demo.test", newOperatorPassword)
	if links := eval[string](olga, navLinks); links != "Customers,Security" {
		t.Errorf("Olga's navigation after the demotion: %q", links)
	}
	// Olga assists Casey: the customer's dashboard opens in a tab of hers.
	olga.selectCustomer("casey", caseyName)
	olga.do("open assist dialog", click("#assist-action"), visible("#assist-dialog"))
	assisted := olga.openedTab("start assist", "assisted", fill("#assist-reason", "router check"), click(`#assist-form button[type=submit]`))
	assisted.do("assisting", visible("#assist-banner"), visible("#devices form"),
		waitFor(`document.querySelector('#assist-operator').textContent === 'Olga'`))

	admin.do("disable dialog", click(status), visible("#team-dialog"),
		waitFor(`document.querySelector('#team-dialog-title').textContent === 'Disable Olga Other?'`),
		waitFor(`document.querySelector('#team-confirm').textContent === 'Disable'`),
		waitFor(`document.querySelector('#team-dialog').contains(document.activeElement)`),
		waitFor(labelled))
	admin.do("reason required", click("#team-confirm"),
		waitFor(`document.querySelector('#team-reason').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.activeElement.id === 'team-reason'`))
	if _, resp := operatorSignIn(t, f.testInstance, "olga@demo.test", newOperatorPassword); userError(resp, "operatorLogin") != "" {
		t.Fatalf("a refused disable changed Olga: %+v", resp)
	}
	admin.do("disable", fill("#team-reason", "left the company"), click("#team-confirm"),
		waitFor(`!document.querySelector('#team-dialog').open`),
		waitFor(`document.querySelector('#status').textContent === 'Olga Other is disabled and was signed out.'`),
		waitFor(fmt.Sprintf(`document.querySelector('%s .badge').textContent === 'Disabled'`, row)),
		waitFor(fmt.Sprintf(`document.querySelector(%q).textContent === 'Enable Olga Other'`, status)),
		waitFor(fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, status)))

	// Olga's console hears it at once and says why; nothing of her session stays.
	olga.do("signed out", visible("#sign-in-form"),
		waitFor(fmt.Sprintf(`document.querySelector('#sign-in-notice').textContent === %q`, disabledMessage)),
		waitFor(`document.querySelector('#sign-in-notice').classList.contains('error')`),
		waitFor(`sessionStorage.getItem('bff.console.token') === null`),
		waitFor(`document.querySelectorAll('#results li').length === 0 && document.querySelector('#nav').hidden`))
	// Her assistance ends with her: the customer's tab she had open is signed out.
	assisted.do("the assist tab is signed out", waitFor(`document.querySelector('#notice').textContent.includes('assistance has ended')`),
		waitFor(`document.querySelectorAll('#devices form').length === 0 && document.querySelector('#assist-banner').hidden`),
		waitFor(`sessionStorage.getItem('bff.dashboard.token') === null`))
	olga.do("her next sign-in is refused", signIn("olga@demo.test", newOperatorPassword),
		waitFor(`document.querySelector('#sign-in-form .form-error').textContent === 'This operator account is disabled. Ask an ADMIN of your team.'`),
		waitFor(`document.querySelector('#search').offsetParent === null`))

	admin.do("enable", click(status), visible("#team-dialog"),
		waitFor(`document.querySelector('#team-reason-label').textContent === 'Reason (optional)'`),
		click("#team-confirm"), waitFor(`!document.querySelector('#team-dialog').open`),
		waitFor(fmt.Sprintf(`document.querySelector('%s .badge').textContent === 'Active'`, row)))
	olga.do("sign in again", signIn("olga@demo.test", newOperatorPassword), visible("#search"))

	// A reissued setup link: confirmed, shown once; Olga's password stops working.
	admin.do("reissue", click(fmt.Sprintf(`[id="op-reissue-%s"]`, olgaID)), visible("#team-dialog"),
		waitFor(`document.querySelector('#team-dialog-title').textContent === 'New setup link for Olga Other?'`),
		click("#team-confirm"), visible("#link-dialog"),
		waitFor(`document.querySelector('#link-url').value.startsWith(location.origin + '/console#setup=')`),
		waitFor(rowText("olga@demo.test")+`.includes('Setup pending')`))
	olga.do("reissue signs olga out", visible("#sign-in-form"),
		waitFor(`document.querySelector('#sign-in-notice').textContent === 'Your session has ended. Sign in again.'`))
	if _, resp := operatorSignIn(t, f.testInstance, "olga@demo.test", newOperatorPassword); userError(resp, "operatorLogin") != "INVALID_CREDENTIALS" {
		t.Errorf("Olga's old password after the reissue: %+v", resp)
	}
}

// chooseOption picks value in the select matched by sel, as a person does (a change event).
func chooseOption(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Focus(chromedp.CSS(sel)), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(s => { s.value = %q; s.dispatchEvent(new Event('input', { bubbles: true })); s.dispatchEvent(new Event('change', { bubbles: true })); })(document.querySelector(%q))`,
		value, sel)))
}

// The audit log shows what was done, newest first; filtering by action, by
// dates and by operator narrows it, a customer's entries link to the
// customer, and the customer's details open its own log.
func TestBrowserAuditLogFilters(t *testing.T) {
	f := newAccountFixture(t, nil)
	admin := f.login(t, "admin@demo.test")
	for _, s := range []string{"DISABLED", "ACTIVE"} {
		if resp := f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": s, "reason": "audit check " + s}); dig(resp.Data, "setAccountStatus", "changed") != true {
			t.Fatalf("set status %s: %+v", s, resp)
		}
	}
	support := f.login(t, "support@demo.test")
	if resp := f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": "violet-harbor-canyon-93", "confirm": "violet-harbor-canyon-93", "require": false}); len(resp.Errors) > 0 {
		t.Fatalf("reset: %+v", resp)
	}

	console := newBrowser(t).newPage("admin")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	actions := `[...document.querySelectorAll('#audit-entries li')].map(li => li.dataset.action)`
	console.do("audit log", click("#nav-audit"), visible("#audit"),
		waitFor(`location.hash === '#audit'`),
		waitFor(`document.querySelectorAll('#audit-entries li').length > 3`), waitFor(labelled))
	got := eval[[]string](console, actions)
	// Newest first: the reset, the enabling, the disabling.
	if i, j, k := indexOf(got, "authn_password_reset"), indexOf(got, "user_enabled"), indexOf(got, "user_disabled"); i < 0 || j < 0 || k < 0 || !(i < j && j < k) {
		t.Errorf("the audit log's actions: %v, want the reset, then the enabling, then the disabling", got)
	}
	disabled := `document.querySelector('#audit-entries li[data-action="user_disabled"]')`
	text := eval[string](console, disabled+`.textContent`)
	for _, want := range []string{"Account disabled", "user_disabled", "By Ada Admin", "On Casey Customer", "Reason: audit check DISABLED"} {
		if !strings.Contains(text, want) {
			t.Errorf("the disabling's entry %q lacks %q", text, want)
		}
	}
	if text := eval[string](console, `document.querySelector('#audit-entries li[data-action="authn_password_reset"]').textContent`); !strings.Contains(text, "By Sam Support") {
		t.Errorf("the reset's entry %q does not name Sam Support", text)
	}

	console.do("filter by action", fill("#audit-action", "user_disabled"), click(`#audit-filters button[type=submit]`),
		waitFor(actions+`.join() === 'user_disabled'`),
		waitFor(`document.querySelector('#audit-count').textContent === '1 entry, newest first'`))
	console.do("no match", fill("#audit-action", "nothing_like_this"), chromedp.KeyEvent("\r"),
		waitFor(`document.querySelector('#audit-count').textContent === 'No entries match.'`))
	setDates := func(from, to string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('#audit-from').value = %q; document.querySelector('#audit-to').value = %q`, from, to))
	}
	console.do("dates out of order", fill("#audit-action", ""), setDates("2001-01-02", "2001-01-01"), click(`#audit-filters button[type=submit]`),
		waitFor(`document.querySelector('#audit-to').getAttribute('aria-invalid') === 'true' && document.querySelector('#audit-to-error').textContent !== ''`),
		waitFor(`document.activeElement.id === 'audit-to'`))
	console.do("long ago", setDates("", "2001-01-01"), click(`#audit-filters button[type=submit]`),
		waitFor(`document.querySelector('#audit-count').textContent === 'No entries match.'`),
		waitFor(`document.querySelector('#audit-to').getAttribute('aria-invalid') === null`))
	console.do("these years", setDates("2001-01-01", "2999-12-31"), click(`#audit-filters button[type=submit]`),
		waitFor(`document.querySelectorAll('#audit-entries li').length > 3`))
	console.do("filter by operator", setDates("", ""), fill("#audit-action", ""),
		waitFor(`document.querySelectorAll('#audit-operator option').length === 3`),
		chromedp.Evaluate[chromedp.Void](`(s => { s.value = [...s.options].find(o => o.text.startsWith('Sam Support')).value; s.dispatchEvent(new Event('change')); })(document.querySelector('#audit-operator'))`),
		waitFor(actions+`.length > 0 && `+actions+`.every(a => a === 'authn_password_reset' || a === 'authn_login_success')`),
		waitFor(`[...document.querySelectorAll('#audit-entries li')].every(li => li.textContent.includes('By Sam Support'))`))

	console.do("the customer's link", chromedp.Evaluate[chromedp.Void](`document.querySelector('#audit-operator').value = ''`),
		click(`#audit-filters button[type=submit]`),
		waitFor(disabled+` !== null`),
		click(`#audit-entries li[data-action="user_disabled"] a[data-customer]`),
		visible("#customers"), waitFor(`location.hash.startsWith('#customers')`),
		waitFor(fmt.Sprintf(`document.querySelector('#details-name')?.textContent === %q`, caseyName)),
		waitFor(`document.activeElement.id === 'details'`))

	// From the customer's details, its own log.
	console.do("the customer's log", click("#details-audit"), visible("#audit"),
		waitFor(fmt.Sprintf(`document.querySelector('#audit-customer-name').textContent === %q`, caseyName)),
		waitFor(`document.querySelectorAll('#audit-entries li').length >= 3`),
		waitFor(fmt.Sprintf(`[...document.querySelectorAll('#audit-entries li')].every(li => li.querySelector('a[data-customer=%q]'))`, f.customerID())))
	console.do("every customer again", click("#audit-customer-clear"),
		waitFor(`document.querySelector('#audit-customer').hidden`),
		waitFor(`document.querySelectorAll('#audit-entries li').length > 3`))
	console.checkNoLeakedValues("#audit-entries")
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

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
		waitFor(`[...document.querySelectorAll('#password-form input[type=password]')].every(i => i.value === '')`),
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
		waitFor(`document.querySelector('#status').textContent === "Casey Customer's account was disabled by Ada Admin."`))

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

// SUPPORT on a phone: no Team and no Audit log, not even by address, and
// every section fits the screen; an ADMIN's Team and Audit log fit it too.
func TestBrowserTeamHiddenFromSupportOnAPhone(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1))
	support := b.newPage("support")
	support.do("phone size", phone)
	support.consoleSignIn(f.URL(), "support@demo.test")
	if links := eval[string](support, navLinks); links != "Customers,Security" {
		t.Errorf("SUPPORT's navigation: %q", links)
	}
	if n := eval[int](support, `document.querySelectorAll('#nav-team, #nav-audit, #details-audit').length`); n != 0 {
		t.Errorf("SUPPORT's page holds %d Team or Audit log links", n)
	}
	support.do("customers fit", waitFor(noOverflow), waitFor(labelled))
	support.selectCustomer("casey", caseyName)
	support.do("details fit", waitFor(noOverflow), waitFor(`document.querySelector('#details-audit') === null`))
	hidden := waitFor(`location.hash.startsWith('#customers') && document.querySelector('#team').hidden && document.querySelector('#audit').hidden`)
	support.do("no team by address", chromedp.Evaluate[chromedp.Void](`location.hash = '#team'`), hidden, visible("#search"))
	support.do("no audit log by address", chromedp.Navigate("about:blank"), chromedp.Navigate(f.URL()+"/console#audit"), visible("#search"), hidden)
	support.do("security by keyboard", chromedp.Focus(chromedp.CSS("#nav-security")), chromedp.KeyEvent("\r"),
		visible("#password-form"), waitFor(`document.activeElement.id === 'security-title'`), waitFor(noOverflow), waitFor(labelled))

	admin := b.newPage("admin")
	admin.do("phone size", phone)
	admin.consoleSignIn(f.URL(), "admin@demo.test")
	admin.do("nav fits", waitFor(noOverflow))
	admin.openTeam()
	admin.do("team fits", waitFor(noOverflow), waitFor(labelled))
	admin.do("invite fits", click("#invite"), visible("#invite-dialog"), waitFor(noOverflow), chromedp.KeyEvent(kb.Escape))
	admin.do("audit fits", click("#nav-audit"), waitFor(`document.querySelectorAll('#audit-entries li').length > 0`),
		waitFor(noOverflow), waitFor(labelled))
}
