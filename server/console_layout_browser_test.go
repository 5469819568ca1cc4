package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// The console as a support agent uses it on a call, on a desktop and on a
// phone: the selected customer's details in reach, the search and the
// customer in the address, contrast and tap targets.

var (
	desktopSize = chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1))
	phoneSize   = chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1))
)

// pageLoads counts, in the console's page, the "Load more" requests it sends
// (the customers query with a cursor).
const pageLoads = `(() => {
  if (window.pageLoads !== undefined) return;
  window.pageLoads = 0;
  const send = window.fetch;
  window.fetch = function (resource, init) {
    try {
      const body = JSON.parse(init?.body ?? 'null');
      if (body?.query?.includes('customers(') && body.variables?.after != null) window.pageLoads++;
    } catch { /* not a GraphQL request */ }
    return send.apply(this, arguments);
  };
})()`

// shown is true when the element matched by the CSS selector is rendered
// (not hidden, not display: none, itself or by an ancestor).
func shown(sel string) string {
	return fmt.Sprintf(`(e => e !== null && e.checkVisibility())(document.querySelector(%q))`, sel)
}

// onScreen is true when the element matched by the CSS selector lies wholly
// inside the viewport.
func onScreen(sel string) string {
	return fmt.Sprintf(`(r => r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth)(document.querySelector(%q).getBoundingClientRect())`, sel)
}

// settle leaves the page two frames and 300 ms: time for an infinite scroll
// to start a request if it is going to.
var settle = chromedp.Evaluate[chromedp.Void](`new Promise((done) => {
	requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 300)));
})`, chromedp.EvalAwaitPromise)

// On a phone, tapping a customer opens its details as a view of their own,
// on screen, with the focus in them; nothing loads meanwhile, however far the
// agent scrolls; "Back to results" returns to the list, on the row tapped. A
// desktop keeps the list and the details side by side.
func TestBrowserPhoneOpensTheDetailsAsTheirOwnView(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)

	phone := b.newPage("phone")
	phone.do("phone size", phoneSize)
	phone.consoleSignIn(f.URL(), "support@demo.test")
	phone.do("the first page", chromedp.Evaluate[chromedp.Void](pageLoads),
		waitFor(`document.querySelectorAll('#results li').length === 25`), waitFor(noOverflow))
	tapped := eval[string](phone, `document.querySelector('#results li:nth-child(12) .result').dataset.id`)
	name := eval[string](phone, `document.querySelector('#results li:nth-child(12) .name').textContent`)
	phone.do("tap a customer", chromedp.ScrollIntoView(chromedp.CSS("#results li:nth-child(12) .result")),
		click("#results li:nth-child(12) .result"),
		waitFor(fmt.Sprintf(`document.querySelector('#details-name')?.textContent === %q`, name)),
		settle,
		waitFor(onScreen("#details-name")), waitFor(shown("#back-to-results")), waitFor(onScreen("#back-to-results")),
		waitFor(`!`+shown("#results")), waitFor(`!`+shown("#more")),
		waitFor(`document.activeElement === document.querySelector('#details')`),
		waitFor(noOverflow))
	phone.checkAccessibility("details view")
	phone.do("scroll to the end", chromedp.Evaluate[chromedp.Void](`scrollTo(0, document.documentElement.scrollHeight)`), settle)
	if n := eval[int](phone, `window.pageLoads`); n != 0 {
		t.Errorf("with a customer open, the phone loaded %d more pages", n)
	}
	if n := eval[int](phone, `document.querySelectorAll('#results li').length`); n != 25 {
		t.Errorf("with a customer open, the list holds %d rows, want the 25 it had", n)
	}

	phone.do("back to results", click("#back-to-results"),
		waitFor(shown("#results")), waitFor(`document.querySelector('#details').hidden`),
		waitFor(`!`+shown("#back-to-results")),
		waitFor(fmt.Sprintf(`document.activeElement?.dataset.id === %q`, tapped)),
		waitFor(onScreen(fmt.Sprintf(`.result[data-id=%q]`, tapped))),
		waitFor(`!location.hash.includes('customer=')`))
	phone.checkAccessibility("back to results")

	// A new search from the details view shows its results.
	phone.do("search from the details", click(fmt.Sprintf(`.result[data-id=%q]`, tapped)), waitFor(shown("#details")),
		searchFor("casey"), waitFor(shown("#results .result")), waitFor(`document.querySelector('#details').hidden`),
		waitFor(`document.activeElement.id === 'search'`))

	desktop := b.newPage("desktop")
	desktop.do("desktop size", desktopSize)
	desktop.consoleSignIn(f.URL(), "support@demo.test")
	desktop.selectCustomer("casey", caseyName)
	desktop.do("side by side", waitFor(shown("#results")), waitFor(shown("#details")), waitFor(`!`+shown("#back-to-results")),
		waitFor(`document.querySelector('#details').getBoundingClientRect().left >= document.querySelector('#results').getBoundingClientRect().right`),
		waitFor(onScreen("#details-name")), waitFor(onScreen("#results .result")))
}

// The address holds the search and the customer open, and nothing else: a
// reload keeps both, the browser's Back returns from the customer to the
// results, and a colleague given the link sees the same customer after
// signing in. Typing replaces the address (no history entry per key); Enter
// opens the single result; the arrow keys move from the search box through
// the results.
func TestBrowserTheAddressKeepsTheSearchAndTheCustomer(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	console := b.newPage("console")
	console.do("desktop size", desktopSize)
	console.consoleSignIn(f.URL(), "admin@demo.test")
	entries := eval[int](console, `history.length`)

	// Enter right after the last key: the answer to "casey" has one customer, which opens.
	console.do("type and press Enter", fill("#search", "casey"), chromedp.KeyEvent("\r"),
		waitFor(fmt.Sprintf(`document.querySelector('#details-name')?.textContent === %q`, caseyName)),
		waitFor(`document.activeElement === document.querySelector('#details')`))
	hash := eval[string](console, `location.hash`)
	section, query, _ := strings.Cut(hash, "?")
	params, err := url.ParseQuery(query)
	if section != "#customers" || err != nil || len(params) != 2 || params.Get("q") != "casey" || params.Get("customer") != f.customerID() {
		t.Errorf("the address's fragment is %q, want #customers with q=casey and customer=%s only", hash, f.customerID())
	}
	if token := eval[string](console, `sessionStorage.getItem('bff.console.token')`); token == "" || strings.Contains(eval[string](console, `location.href`), token) {
		t.Errorf("the address holds the session's token (or there is none: %q)", token)
	}
	// Five keys replaced the address; opening the customer added one entry.
	if n := eval[int](console, `history.length`); n != entries+1 {
		t.Errorf("history has %d entries after typing and opening, want %d", n, entries+1)
	}
	console.checkAccessibility("customer from Enter")

	console.do("reload", chromedp.Reload(), visible("#search"),
		waitFor(fmt.Sprintf(`document.querySelector('#details-name')?.textContent === %q`, caseyName)),
		waitFor(`document.querySelector('#search').value === 'casey'`),
		waitFor(`[...document.querySelectorAll('#results .name')].map(e => e.textContent).join() === 'Casey Customer'`))
	link := eval[string](console, `location.href`)

	console.do("browser back", chromedp.NavigateBack(),
		waitFor(`document.querySelector('#details').hidden`),
		waitFor(`location.hash === '#customers?q=casey'`),
		waitFor(`document.querySelector('#search').value === 'casey'`),
		waitFor(shown("#results .result")),
		waitFor(fmt.Sprintf(`document.activeElement?.dataset.id === %q`, f.customerID())))

	// Several results: Enter opens none; Down goes into the list, Up back to the search box.
	console.do("arrow keys", searchFor("mar"),
		waitFor(`document.querySelectorAll('#results .result').length > 2`),
		chromedp.Focus(chromedp.CSS("#search")), chromedp.KeyEvent("\r"),
		chromedp.KeyEvent(kb.ArrowDown),
		waitFor(`document.activeElement === document.querySelector('#results li:nth-child(1) .result')`),
		chromedp.KeyEvent(kb.ArrowDown),
		waitFor(`document.activeElement === document.querySelector('#results li:nth-child(2) .result')`),
		chromedp.KeyEvent(kb.ArrowDown),
		waitFor(`document.activeElement === document.querySelector('#results li:nth-child(3) .result')`),
		chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.ArrowUp),
		waitFor(`document.activeElement === document.querySelector('#results li:nth-child(1) .result')`),
		chromedp.KeyEvent(kb.ArrowUp),
		waitFor(`document.activeElement.id === 'search'`),
		waitFor(`location.hash === '#customers?q=mar'`))
	if eval[bool](console, `!document.querySelector('#details').hidden`) {
		t.Error("Enter with several results opened one")
	}
	console.checkAccessibility("arrow keys")

	// A colleague opens the link, signs in, and sees the same customer.
	colleague := b.newPage("colleague")
	colleague.do("open the link", phoneSize, chromedp.Navigate(link), visible("#sign-in-form"), signIn("support@demo.test", testPassword),
		waitFor(fmt.Sprintf(`document.querySelector('#details-name')?.textContent === %q`, caseyName)),
		waitFor(`document.querySelector('#search').value === 'casey'`),
		waitFor(onScreen("#details-name")))
	colleague.checkAccessibility("customer from a link")

	// A link to a customer that does not exist, followed in the open console: the details close and
	// the address forgets the customer (it kept showing, and pointing at, the one before).
	colleague.do("a link to no customer", chromedp.Evaluate[chromedp.Void](`location.hash = '#customers?q=casey&customer=Q3VzdG9tZXI6eA'`),
		waitFor(`document.querySelector('#details').hidden`),
		waitFor(`document.querySelector('#status').textContent.includes('no longer exists')`),
		waitFor(`!location.hash.includes('customer=')`))
}

// contrastProbe gives the page window.contrast: the WCAG contrast ratio of two
// CSS colours, and the colour behind an element (its first ancestor's, itself
// included, that is not transparent).
const contrastProbe = `(() => {
  const rgb = (s) => s.match(/[\d.]+/g).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor, v = rgb(c);
      if (v.length < 4 || v[3] === 1) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  window.contrast = { ratio, behind };
})()`

// focusRing is what the focused element's outline looks like: the problems
// found, or "" when the outline shows at 2 px or more with a contrast of 3:1
// against the colour around it.
const focusRing = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return ''; // between the page and the browser's own controls
  const s = getComputedStyle(e);
  const what = e.id || e.textContent.trim().slice(0, 30);
  if (!e.matches(':focus-visible')) return what + ': not :focus-visible';
  if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) return what + ': outline ' + s.outlineStyle + ' ' + s.outlineWidth;
  const r = contrast.ratio(s.outlineColor, contrast.behind(e.parentElement));
  return r < 3 ? what + ': outline ' + s.outlineColor + ' on ' + contrast.behind(e.parentElement) + ' is ' + r.toFixed(2) + ':1' : '';
})()`

// weakBorders lists the text fields whose border has less than 3:1 against
// the field's inside or the colour around it.
const weakBorders = `[...document.querySelectorAll('input:not([type=checkbox]):not([type=radio]), select, textarea')]
  .filter((e) => e.checkVisibility())
  .flatMap((e) => {
    const s = getComputedStyle(e);
    return [contrast.behind(e), contrast.behind(e.parentElement)]
      .map((bg) => contrast.ratio(s.borderTopColor, bg))
      .filter((r) => r < 3).map((r) => (e.id || e.name) + ': border ' + s.borderTopColor + ' ' + r.toFixed(2) + ':1');
  })`

// smallTargets lists the visible buttons, links and fields smaller than
// 24 x 24 CSS pixels (WCAG 2.2 SC 2.5.8). Links inside a sentence are the
// criterion's own exception: the audit log's names in "By ... On ...".
const smallTargets = `[...document.querySelectorAll('button, a[href], input, select, textarea, summary')]
  .filter((e) => e.checkVisibility() && !e.closest('dialog:not([open])') && !e.matches('#audit-entries p a'))
  .map((e) => [e, e.getBoundingClientRect()])
  .filter(([, r]) => r.width < 24 || r.height < 24)
  .map(([e, r]) => (e.id || e.textContent.trim().slice(0, 30) || e.tagName) + ' ' + r.width.toFixed(1) + 'x' + r.height.toFixed(1))`

// cutOff lists what in the top bar lies outside the screen or is cut, and
// the title or the Sign out button broken over two lines.
const cutOff = `(() => {
  const lines = (e) => { const r = document.createRange(); r.selectNodeContents(e); return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; };
  return [...document.querySelectorAll('.topbar, .topbar *')]
    .filter((e) => e.checkVisibility())
    .filter((e) => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth || e.scrollWidth > e.clientWidth + 1; })
    .map((e) => e.id || e.tagName)
    .concat(['.topbar h1', '#sign-out'].filter((sel) => lines(document.querySelector(sel)) > 1).map((sel) => sel + ' broken over lines'));
})()`

// Focus rings and the borders of text fields have 3:1 against what is
// around them (WCAG 2.2 SC 1.4.11), every control is at least 24 x 24 px on a
// phone (SC 2.5.8), and the top bar fits a phone.
func TestBrowserConsoleContrastAndTapTargets(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	for _, size := range []struct {
		name string
		set  chromedp.Action[chromedp.Void]
	}{{"desktop", desktopSize}, {"phone", phoneSize}} {
		console := b.newPage(size.name)
		console.do("size", size.set, chromedp.Navigate(f.URL()+"/console"), visible("#sign-in-form"),
			chromedp.Evaluate[chromedp.Void](contrastProbe))
		if weak := eval[[]string](console, weakBorders); len(weak) > 0 {
			t.Errorf("%s: sign-in fields with weak borders: %v", size.name, weak)
		}
		console.consoleSignIn(f.URL(), "admin@demo.test")
		console.selectCustomer("casey", caseyName)
		console.do("probe", chromedp.Evaluate[chromedp.Void](contrastProbe))
		if weak := eval[[]string](console, weakBorders); len(weak) > 0 {
			t.Errorf("%s: customers: fields with weak borders: %v", size.name, weak)
		}
		// The keyboard goes round the page from the top: the top bar, the sections, the search,
		// the results or the details, their actions.
		console.do("from the top", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); getSelection().removeAllRanges()`))
		seen, visited := map[string]bool{}, map[string]bool{}
		for i := 0; i < 18; i++ {
			if err := chromedp.Do(console.ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
				t.Fatalf("%s: tab: %v", size.name, err)
			}
			visited[eval[string](console, `document.activeElement.id`)] = true
			if problem := eval[string](console, focusRing); problem != "" && !seen[problem] {
				seen[problem] = true
				t.Errorf("%s: focus ring: %s", size.name, problem)
			}
		}
		for _, id := range []string{"edit-action", "sign-out", "nav-team", "search"} {
			if !visited[id] {
				t.Errorf("%s: the keyboard never reached #%s (visited %v)", size.name, id, visited)
			}
		}
		if size.name != "phone" {
			continue
		}
		console.do("top bar fits", waitFor(noOverflow))
		if cut := eval[[]string](console, cutOff); len(cut) > 0 {
			t.Errorf("phone: the top bar cuts %v", cut)
		}
		if small := eval[[]string](console, smallTargets); len(small) > 0 {
			t.Errorf("phone: details: targets under 24 x 24 px: %v", small)
		}
		console.do("back to results", click("#back-to-results"), waitFor(shown("#results")))
		if small := eval[[]string](console, smallTargets); len(small) > 0 {
			t.Errorf("phone: results: targets under 24 x 24 px: %v", small)
		}
		for _, section := range []string{"team", "audit", "settings", "security"} {
			console.do(section, click("#nav-"+section), visible("#"+section), waitFor(noOverflow))
			if small := eval[[]string](console, smallTargets); len(small) > 0 {
				t.Errorf("phone: %s: targets under 24 x 24 px: %v", section, small)
			}
		}
		console.checkAccessibility("security")
	}
}

// A status message shows over the page, in view, without moving what the
// agent is reading (the results list; on a phone, the customer's details),
// without covering the control that has the focus and without taking the
// clicks meant for what it covers.
func TestBrowserStatusMessageMovesNothing(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	for _, size := range []struct {
		name    string
		set     chromedp.Action[chromedp.Void]
		reading string
	}{{"desktop", desktopSize, "#results"}, {"phone", phoneSize, "#details"}} {
		console := b.newPage(size.name)
		console.do("size", size.set)
		console.consoleSignIn(f.URL(), "admin@demo.test")
		console.selectCustomer("casey", caseyName)
		top := fmt.Sprintf(`document.querySelector(%q).getBoundingClientRect().top + scrollY`, size.reading)
		before := eval[float64](console, top)
		console.do("a message", click("#edit-action"), visible("#edit-dialog"), click(`#edit-form button[type=submit]`),
			waitFor(`!document.querySelector('#edit-dialog').open`),
			waitFor(`document.querySelector('#status').textContent !== ''`),
			waitFor(shown("#status")), waitFor(onScreen("#status")))
		if after := eval[float64](console, top); after != before {
			t.Errorf("%s: the message moved %s from %.1f to %.1f px", size.name, size.reading, before, after)
		}
		if eval[bool](console, `(a => { const b = document.querySelector('#status').getBoundingClientRect();
			return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom; })(document.activeElement.getBoundingClientRect())`) {
			t.Errorf("%s: the message covers the focused %s", size.name, eval[string](console, `document.activeElement.id`))
		}
		// A click where the message shows reaches what is under it.
		if eval[bool](console, `(s => { const r = s.getBoundingClientRect(); return s.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); })(document.querySelector('#status'))`) {
			t.Errorf("%s: the message takes the clicks meant for what it covers", size.name)
		}
		console.checkAccessibility("status message")
	}
}

// fitsItsDialog is true when nothing in the open dialog sel reaches past
// its edges: a long email or name wraps instead.
func fitsItsDialog(sel string) string {
	return fmt.Sprintf(`(d => { const box = d.getBoundingClientRect();
	  return [...d.querySelectorAll('*')].every(e => { const r = e.getBoundingClientRect();
	    return r.width === 0 || (r.left >= box.left - 0.5 && r.right <= box.right + 0.5); }); })(document.querySelector(%q))`, sel)
}

// besideItsWords is true when every radio button and checkbox in sel sits on
// the line of its label's words, to their left.
func besideItsWords(sel string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q)].every(input => {
	  const r = input.getBoundingClientRect(), range = document.createRange();
	  range.selectNodeContents(input.closest('label'));
	  range.setStartAfter(input);
	  const words = range.getClientRects()[0];
	  return words && words.left >= r.right && Math.abs((words.top + words.bottom) / 2 - (r.top + r.bottom) / 2) < r.height;
	})`, sel)
}

// On a 375-pixel phone, every dialog of a customer with a long name and a
// long email keeps its text, fields and buttons inside it (the delete
// dialog's confirmation pushed its button 24 px past the edge), and the
// assistance's choices sit beside their words (each circle was centred on a
// line of its own).
func TestBrowserDialogsFitAPhone(t *testing.T) {
	f := newAccountFixture(t, nil)
	d, err := f.store.DomainBySlug(context.Background(), demo.Slug)
	if err != nil {
		t.Fatal(err)
	}
	long := storetest.NewCustomer(d, "Maximilian", "Featherstonehaugh-Wolfeschlegelsteinhausen",
		"maximilian.alexander.featherstonehaugh-smythe@subdomain.example.org", "+1 555 010 4242")
	if err := f.store.ImportCustomers(context.Background(), []customers.Customer{long}, nil); err != nil {
		t.Fatal(err)
	}
	phone := newBrowser(t).newPage("phone")
	phone.do("phone size", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(1)))
	phone.consoleSignIn(f.URL(), demo.AdminEmail)
	phone.selectCustomer("featherstonehaugh", "Maximilian Featherstonehaugh-Wolfeschlegelsteinhausen")
	for _, dialog := range []struct{ button, dialog string }{
		{"#edit-action", "#edit-dialog"}, {"#reset-action", "#reset-dialog"}, {"#status-action", "#status-dialog"},
		{"#assist-action", "#assist-dialog"}, {"#delete-action", "#delete-dialog"},
	} {
		phone.do("open "+dialog.dialog, chromedp.ScrollIntoView(chromedp.CSS(dialog.button)), click(dialog.button), visible(dialog.dialog), settle)
		if !eval[bool](phone, fitsItsDialog(dialog.dialog)) {
			t.Errorf("%s: something reaches past the dialog's edge", dialog.dialog)
		}
		if !eval[bool](phone, besideItsWords(dialog.dialog+` input[type=radio], `+dialog.dialog+` input[type=checkbox]`)) {
			t.Errorf("%s: a radio button or checkbox is not beside its words", dialog.dialog)
		}
		phone.do("close "+dialog.dialog, chromedp.KeyEvent("\x1b"), waitFor(`!document.querySelector('`+dialog.dialog+`').open`))
	}
}
