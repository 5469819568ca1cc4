package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/iotconsole/bff/internal/demo"
)

// The console's second factor, the way operators meet it: an authenticator
// app set up in Security (QR code, secret, first code, recovery codes shown
// once), the code step of every sign-in after it, an ADMIN's reset, and a
// domain whose Settings require one, where an operator without one may only
// set it up.

const (
	codeStepHint   = "Enter the 6-digit code from your authenticator app (or a recovery code)."
	wrongCodeError = "This code is not right. Type the 6 digits your authenticator app shows now, or one of your recovery codes."
	expiredSignIn  = "Your sign-in has expired. Start it again: your password, then a new code."
	// recoveryCount is the number of recovery codes the page shows.
	recoveryCount = `document.querySelectorAll('#recovery-codes li').length`
)

// setUpAuthenticator sets an authenticator app up in p's Security section,
// already open, as a person does: Set up, read the secret under the QR code,
// type the app's code (computed at the server's time). It returns the
// secret, once the page shows the 10 recovery codes.
func (p *page) setUpAuthenticator(s *testInstance) string {
	p.b.t.Helper()
	p.do("set up the app", click("#totp-start"), visible("#totp-enroll-form"),
		waitFor(`document.querySelector('#totp-qr').complete && document.querySelector('#totp-qr').naturalWidth === 256`),
		waitFor(`document.querySelector('#totp-qr').src.startsWith('data:image/png;base64,')`),
		waitFor(`document.querySelector('#totp-qr').alt.includes('QR code')`),
		waitFor(`document.querySelector('#totp-secret').textContent.replaceAll(' ', '').length >= 16`),
		waitFor(`document.activeElement.id === 'totp-link'`), waitFor(labelled), waitFor(noOverflow))
	secret := eval[string](p, `document.querySelector('#totp-secret').textContent.replaceAll(' ', '')`)
	// On a phone the QR code cannot be scanned by the phone itself: the link opens its app with the
	// same secret, and the secret shows whole, in groups that wrap, at a size that does not zoom.
	if link := eval[string](p, `document.querySelector('#totp-link').href`); !strings.HasPrefix(link, "otpauth://totp/") || !strings.Contains(link, "secret="+secret) {
		p.b.t.Errorf("the authenticator link %q, want otpauth://totp/ with the secret %s", link, secret)
	}
	p.do("the secret on a small phone", chromedp.EmulateViewport(320, 568, chromedp.EmulateScale(1)), waitFor(noOverflow),
		waitFor(`(() => { const s = document.querySelector('#totp-secret'), r = s.getBoundingClientRect();
			return r.right <= window.innerWidth && parseFloat(getComputedStyle(s).fontSize) >= 16; })()`),
		chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
	p.do("a wrong first code", fill("#totp-code", "12345"), click(`#totp-enroll-form button[type=submit]`),
		waitFor(`document.querySelector('#totp-code').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.activeElement.id === 'totp-code'`))
	code, err := totp.GenerateCode(secret, s.clock.Now())
	if err != nil {
		p.b.t.Fatalf("the secret the page shows, %q: %v", secret, err)
	}
	p.do("first code", fill("#totp-code", code), click(`#totp-enroll-form button[type=submit]`),
		visible("#totp-recovery"), waitFor(recoveryCount+` === 10`),
		waitFor(`document.activeElement.id === 'recovery-copy'`),
		waitFor(`document.querySelector('#totp-enroll-form').hidden && document.querySelector('#totp-qr').getAttribute('src') === null`),
		waitFor(noOverflow))
	return secret
}

// An invited operator sets up an authenticator app: the recovery codes are
// shown once; from then on a sign-in asks for a code after the password,
// refuses a wrong one and an expired sign-in, and takes the app's next
// code. The team shows the 2FA badge, and an ADMIN's reset signs the
// operator out, after which the password alone signs in.
func TestBrowserSecondFactorInviteSetupAndSignIn(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	admin := b.newPage("admin")
	admin.consoleSignIn(f.URL(), "admin@demo.test")
	admin.openTeam()
	admin.do("invite", click("#invite"), visible("#invite-dialog"),
		fill("#invite-name", "Nia New"), fill("#invite-email", "nia@demo.test"),
		click(`#invite-form button[type=submit]`), visible("#link-dialog"),
		waitFor(`document.querySelector('#link-url').value.includes('#setup=')`))
	link := eval[string](admin, `document.querySelector('#link-url').value`)
	admin.do("done", click(`#link-dialog [data-close]`), waitFor(rowText("nia@demo.test")+`.includes('Setup pending')`))

	const password = "violet-maple-harbor-58"
	nia := b.newPage("nia")
	nia.do("setup link", chromedp.Navigate(link), visible("#setup-form"),
		fill("#setup-password", password), fill("#setup-confirm", password), click(`#setup-form button[type=submit]`),
		visible("#search"), waitFor(`document.querySelector('#status').textContent.includes('your password is set and you are signed in')`))
	before := eval[string](nia, `sessionStorage.getItem('bff.console.token')`)
	nia.do("security", click("#nav-security"), visible("#totp"),
		waitFor(`document.querySelector('#totp-state').textContent.startsWith('Off')`),
		waitFor(`document.querySelector('#totp-disable-form').hidden && !document.querySelector('#password-form').hidden`))
	secret := nia.setUpAuthenticator(f.testInstance)
	if text := eval[string](nia, `document.querySelector('#recovery-explanation').textContent`); !strings.Contains(text, "shown only now") {
		t.Errorf("the recovery codes' explanation: %q", text)
	}
	codes := eval[[]string](nia, `[...document.querySelectorAll('#recovery-codes li')].map(li => li.textContent)`)
	if after := eval[string](nia, `sessionStorage.getItem('bff.console.token')`); after == before || after == "" {
		t.Errorf("the console did not keep the verified session: %q", after)
	}
	nia.do("copy", click("#recovery-copy"), waitFor(`document.querySelector('#recovery-copied').textContent !== ''`))
	nia.do("saved them", click("#recovery-done"),
		waitFor(recoveryCount+` === 0 && document.querySelector('#totp-recovery').hidden`), // shown once
		waitFor(`document.querySelector('#totp-state').textContent.startsWith('On')`),
		waitFor(`!document.querySelector('#totp-disable-form').hidden && document.querySelector('#totp-start').hidden`))
	// The session the set-up gave acts: the live updates and a search work.
	nia.do("still signed in", click("#nav-customers"), visible("#search"), waitFor(`document.querySelectorAll('#results li').length > 0`))

	admin.do("the team shows 2FA", chromedp.Reload(), visible("#team"),
		waitFor(rowText("nia@demo.test")+`.includes('2FA')`), waitFor(`!`+rowText("admin@demo.test")+`.includes('2FA')`))

	// Signing in again asks for a code.
	nia.do("sign out", click("#sign-out"), visible("#sign-in-form"))
	nia.do("password", signIn("nia@demo.test", password), visible("#mfa-form"),
		waitFor(fmt.Sprintf(`document.querySelector('#mfa-hint').textContent === %q`, codeStepHint)),
		waitFor(`document.activeElement.id === 'mfa-code'`), waitFor(labelled),
		waitFor(`document.querySelector('#sign-in-form').offsetParent === null && sessionStorage.getItem('bff.console.token') === null`))
	nia.do("a wrong code", fill("#mfa-code", "000000"), chromedp.KeyEvent("\r"),
		waitFor(fmt.Sprintf(`document.querySelector('#mfa-code-error')?.textContent === %q`, wrongCodeError)),
		waitFor(`document.querySelector('#mfa-code').getAttribute('aria-invalid') === 'true' && document.activeElement.id === 'mfa-code'`),
		waitFor(`document.querySelector('#search').offsetParent === null`))
	// Five minutes later the sign-in has expired: back to the password.
	f.clock.Advance(6 * time.Minute)
	code, _ := totp.GenerateCode(secret, f.clock.Now())
	nia.do("an expired sign-in", fill("#mfa-code", code), chromedp.KeyEvent("\r"), visible("#sign-in-form"),
		waitFor(fmt.Sprintf(`document.querySelector('#sign-in-notice').textContent === %q`, expiredSignIn)),
		waitFor(`document.activeElement.id === 'sign-in-password'`))
	nia.do("password again", fill("#sign-in-password", password), chromedp.KeyEvent("\r"), visible("#mfa-form"),
		waitFor(`document.querySelector('#mfa-code').value === ''`))
	f.clock.Advance(30 * time.Second) // the app's next code
	code, _ = totp.GenerateCode(secret, f.clock.Now())
	nia.do("the right code", fill("#mfa-code", code), click(`#mfa-form button[type=submit]`),
		visible("#search"), waitFor(`document.querySelectorAll('#results li').length > 0`),
		waitFor(`document.querySelector('#who-name').textContent.startsWith('Nia New')`))
	if resp := f.post(t, "", `mutation($c: String!, $code: String!) { verifyOperatorMfa(input: {challenge: $c, code: $code}) { userErrors { code } } }`,
		map[string]any{"c": challenge(t, f.testInstance, "nia@demo.test", password), "code": codes[0]}); userError(resp, "verifyOperatorMfa") != "" {
		t.Errorf("a recovery code the page showed: %+v", resp)
	}

	// She forgot her password: the link an ADMIN reissues sets a new one,
	// and her authenticator app's code then signs her in (tryout 20: the
	// page said "sign in first", the password already set).
	niaID := eval[string](admin, fmt.Sprintf(`document.querySelector(%q).dataset.id`, operatorRow("nia@demo.test")))
	resp := f.post(t, f.login(t, demo.AdminEmail), `mutation($id: ID!) { reissueOperatorSetup(input: {operatorId: $id}) { setupUrl } }`, map[string]any{"id": niaID})
	relink, _ := dig(resp.Data, "reissueOperatorSetup", "setupUrl").(string)
	if relink == "" {
		t.Fatalf("reissue: %+v", resp)
	}
	const newPassword = "amber-lantern-orchard-93"
	nia.do("the new setup link", chromedp.Navigate(f.URL()+relink), visible("#setup-form"),
		fill("#setup-password", newPassword), fill("#setup-confirm", newPassword), click(`#setup-form button[type=submit]`),
		visible("#mfa-form"), waitFor(`document.querySelector('#status').textContent.includes('Your password is set')`),
		waitFor(`document.activeElement.id === 'mfa-code'`))
	f.clock.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(secret, f.clock.Now())
	nia.do("her code", fill("#mfa-code", code), click(`#mfa-form button[type=submit]`),
		visible("#search"), waitFor(`document.querySelector('#who-name').textContent.startsWith('Nia New')`))

	// She lost her phone: an ADMIN resets her second factor, which signs her out.
	reset := fmt.Sprintf(`[id="op-mfa-%s"]`, niaID)
	admin.do("reset dialog", click(reset), visible("#team-dialog"),
		waitFor(`document.querySelector('#team-dialog-title').textContent === "Reset Nia New's second factor?"`),
		waitFor(`document.querySelector('#team-confirm').textContent === 'Reset second factor'`),
		waitFor(`document.querySelector('#team-reason-field').hidden`))
	admin.do("reset", click("#team-confirm"), waitFor(`!document.querySelector('#team-dialog').open`),
		waitFor(`document.querySelector('#status').textContent === "Nia New's second factor is reset and they were signed out."`),
		waitFor(`!`+rowText("nia@demo.test")+`.includes('2FA')`),
		waitFor(fmt.Sprintf(`document.querySelector(%q) === null`, reset)))
	nia.do("signed out by the reset", visible("#sign-in-form"),
		waitFor(`document.querySelector('#sign-in-notice').textContent === 'Your session has ended. Sign in again.'`))
	nia.do("the password alone", signIn("nia@demo.test", newPassword), visible("#search"))
}

// An ADMIN requires a second factor in Settings: an operator without one
// then signs in to the set-up of an authenticator app and nothing else, not
// even by address or after a reload, and has the console once it is on.
// SUPPORT has no Settings. Turned off (password and a recovery code), the
// next sign-in asks for a set-up again. On a phone.
func TestBrowserSettingsRequireSecondFactor(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1))
	admin := b.newPage("admin")
	admin.do("phone size", phone)
	admin.consoleSignIn(f.URL(), "admin@demo.test")
	if links := eval[string](admin, navLinks); links != "Customers,Team,Audit log,Settings,Security" {
		t.Errorf("an ADMIN's navigation: %q", links)
	}
	admin.do("settings", click("#nav-settings"), visible("#settings-form"),
		waitFor(`location.hash === '#settings' && document.activeElement.id === 'settings-title'`),
		waitFor(`document.querySelector('#settings-region').value === 'US' && !document.querySelector('#settings-name').disabled`),
		waitFor(`document.querySelector('#settings-signup').value === 'OPEN' && !document.querySelector('#settings-mfa').checked`),
		waitFor(`document.querySelector('#settings-assist').value === '0' && document.querySelector('#settings-password').value === '0'`),
		waitFor(labelled), waitFor(noOverflow))
	admin.do("a wrong region", fill("#settings-region", "XX"), click(`#settings-form button[type=submit]`),
		waitFor(`document.querySelector('#settings-region').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#settings-region-error').textContent !== ''`),
		waitFor(`document.activeElement.id === 'settings-region'`))
	admin.do("too short an assistance", fill("#settings-region", "gb"), fill("#settings-assist", "5"),
		click(`#settings-form button[type=submit]`),
		waitFor(`document.querySelector('#settings-assist').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#settings-assist-error').textContent !== ''`),
		waitFor(`document.querySelector('#settings-region').getAttribute('aria-invalid') === null`),
		waitFor(`document.querySelector('#settings-region').getAttribute('aria-describedby') === 'settings-region-hint'`),
		waitFor(`document.querySelector('#settings-assist').getAttribute('aria-describedby') === 'settings-assist-hint settings-assist-error'`),
		waitFor(`document.activeElement.id === 'settings-assist'`))
	admin.do("require a second factor without one", fill("#settings-assist", "900"), chromedp.Click(chromedp.CSS("#settings-mfa")),
		click(`#settings-form button[type=submit]`),
		waitFor(`document.querySelector('#settings-mfa').getAttribute('aria-invalid') === 'true'`),
		waitFor(`document.querySelector('#settings-mfa-error').textContent.startsWith('Set up your own authenticator app first')`),
		waitFor(`document.activeElement.id === 'settings-mfa'`), waitFor(noOverflow))
	// The ADMIN sets an app up (the console keeps the session it verifies), then requires one of everyone.
	admin.do("security", click("#nav-security"), visible("#totp-start"))
	admin.setUpAuthenticator(f.testInstance)
	admin.do("settings again", click("#nav-settings"), visible("#settings-form"),
		waitFor(`!document.querySelector('#settings-mfa').checked && document.querySelector('#settings-region').value === 'US'`),
		fill("#settings-region", "gb"), fill("#settings-assist", "900"), chromedp.Click(chromedp.CSS("#settings-mfa")),
		click(`#settings-form button[type=submit]`),
		waitFor(`document.querySelector('#status').textContent === 'The settings are saved and apply now.'`),
		waitFor(`document.querySelectorAll('#settings-form [aria-invalid]').length === 0`))
	// Read with the console's session, opened with the second factor.
	resp := f.post(t, eval[string](admin, `sessionStorage.getItem('bff.console.token')`), `{ domain { requireOperatorMfa defaultRegion assistTtlSeconds signUpPolicy } }`, nil)
	if got := fmt.Sprint(resp.Data["domain"]); got != "map[assistTtlSeconds:900 defaultRegion:GB requireOperatorMfa:true signUpPolicy:OPEN]" {
		t.Errorf("the domain after saving: %s", got)
	}
	admin.do("nothing to save", click(`#settings-form button[type=submit]`),
		waitFor(`document.querySelector('#status').textContent === 'Nothing was changed.'`))

	// Sam (SUPPORT) has no second factor: his sign-in opens only its set-up.
	sam := b.newPage("support")
	sam.do("phone size", phone)
	enrolmentOnly := waitFor(`document.querySelector('#security-title').textContent === 'Set up a second factor' &&
		!document.querySelector('#enroll-required').hidden && document.querySelector('#password-form').hidden &&
		document.querySelector('#nav').hidden && document.querySelector('#search').offsetParent === null &&
		!document.querySelector('#sign-out').hidden && document.querySelector('#totp-start').offsetParent !== null`)
	sam.do("sign in", chromedp.Navigate(f.URL()+"/console"), signIn("support@demo.test", testPassword),
		visible("#totp"), enrolmentOnly, waitFor(`document.activeElement.id === 'security-title'`),
		waitFor(noOverflow), waitFor(labelled))
	sam.do("nothing else by address", chromedp.Evaluate[chromedp.Void](`location.hash = '#customers'`),
		waitFor(`location.hash === '#security'`), enrolmentOnly)
	sam.do("nor after a reload", chromedp.Reload(), visible("#totp"), enrolmentOnly)
	sam.setUpAuthenticator(f.testInstance)
	recovery := eval[string](sam, `document.querySelector('#recovery-codes li').textContent`)
	sam.do("the console", waitFor(`!document.querySelector('#nav').hidden && location.hash === '#security'`),
		waitFor(`document.querySelector('#security-title').textContent === 'Security' && !document.querySelector('#password-form').hidden`),
		waitFor(`document.querySelector('#enroll-required').hidden`),
		waitFor(recoveryCount+` === 10`), waitFor(noOverflow))
	if links := eval[string](sam, navLinks); links != "Customers,Security" {
		t.Errorf("SUPPORT's navigation: %q, want no Settings", links)
	}
	sam.do("no settings by address", chromedp.Evaluate[chromedp.Void](`location.hash = '#settings'`),
		waitFor(`location.hash === '#customers' && document.querySelector('#settings').hidden`), visible("#search"),
		waitFor(recoveryCount+` === 0`), // shown once: gone with the section
		waitFor(`document.querySelectorAll('#results li').length > 0`))
	// The verified session acts under the policy.
	sam.selectCustomer("casey", caseyName)
	sam.do("reset a password", click("#reset-action"), visible("#reset-dialog"),
		fill("#reset-new", "violet-harbor-canyon-93"), fill("#reset-confirm", "violet-harbor-canyon-93"),
		click(`#reset-form button[type=submit]`), visible("#reset-done"),
		waitFor(`document.querySelector('#status').textContent.includes('has a new password')`),
		chromedp.Click(`//div[@id="reset-done"]//button[text()="Done"]`), waitFor(`!document.querySelector('#reset-dialog').open`))

	// He turns the app off with his password and a recovery code: under the policy that signs him
	// out everywhere, and the next sign-in asks him to set one up again.
	sam.do("turn off", click("#nav-security"), visible("#totp-disable-form"),
		waitFor(`document.querySelector('#totp-state').textContent.startsWith('On') && document.querySelector('#totp-start').hidden`),
		fill("#totp-off-password", "not his password"), fill("#totp-off-code", recovery),
		click(`#totp-disable-form button[type=submit]`),
		waitFor(`document.querySelector('#totp-off-password-error')?.textContent === 'This is not your password.'`),
		waitFor(`document.activeElement.id === 'totp-off-password'`))
	sam.do("turned off", fill("#totp-off-password", testPassword), click(`#totp-disable-form button[type=submit]`),
		waitFor(`document.querySelector('#sign-in-notice').textContent.includes('sign in again to set one up')`),
		visible("#sign-in-form"), waitFor(`document.querySelector('#nav').hidden`))
	if _, resp := operatorSignIn(t, f.testInstance, "support@demo.test", testPassword); dig(resp.Data, "operatorLogin", "mustEnrollMfa") != true {
		t.Errorf("Sam's sign-in after turning the app off: %+v", resp)
	}
}
