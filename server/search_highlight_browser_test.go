package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// caseyRow is what Casey's row in the console's results shows of a search's matches.
type caseyRow struct {
	Found   bool     `json:"found"`
	Name    string   `json:"name"`    // the name as shown
	Marked  []string `json:"marked"`  // the marked parts of the name
	Contact string   `json:"contact"` // email · phone
	InMail  []string `json:"inMail"`  // the marked parts of the email
	InPhone []string `json:"inPhone"` // the marked parts of the phone
	Matched string   `json:"matched"` // the line saying which device or id matched, if any
	InMatch []string `json:"inMatch"` // its marked parts
}

// caseyRowNow reads Casey's row from the console's results.
const caseyRowNow = `(() => {
	const row = [...document.querySelectorAll('#results .result')]
		.find((r) => r.querySelector('.name').textContent === 'Casey Customer');
	if (!row) return { found: false };
	// Each marked part of el, with where it starts in el's text.
	const marks = (el) => {
		const found = [];
		const walk = document.createTreeWalker(el || document.createElement('i'), NodeFilter.SHOW_TEXT);
		for (let at = 0, n; (n = walk.nextNode()); at += n.length) if (n.parentElement.localName === 'mark') found.push({ at, text: n.data });
		return found;
	};
	const text = (found) => found.map((m) => m.text);
	const shown = row.querySelector('.name-shown') || row.querySelector('.name');
	const contact = row.querySelector('.contact').textContent, phoneAt = contact.indexOf('+1 555 010 7777');
	return {
		found: true,
		name: shown.textContent,
		marked: text(marks(shown)),
		contact,
		inMail: text(marks(row.querySelector('.contact')).filter((m) => m.at < phoneAt)),
		inPhone: text(marks(row.querySelector('.contact')).filter((m) => m.at >= phoneAt)),
		matched: row.querySelector('.matched')?.textContent ?? '',
		inMatch: text(marks(row.querySelector('.matched'))),
	};
})()`

// TestBrowserSearchHighlights: the console's results mark what the operator typed in the name,
// email and phone, say which device matched, and a search that finds nothing offers a query near
// it, which a click searches.
func TestBrowserSearchHighlights(t *testing.T) {
	f := newAccountFixture(t, nil)
	console := newBrowser(t).newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	row := func(step string) caseyRow {
		t.Helper()
		r := eval[caseyRow](console, caseyRowNow)
		if !r.Found {
			console.photograph(step)
			t.Fatalf("%s: Casey is not in the results", step)
		}
		if r.Name != caseyName || !strings.Contains(r.Contact, customerEmail) || !strings.Contains(r.Contact, "+1 555 010 7777") {
			t.Errorf("%s: Casey's row shows %q, %q", step, r.Name, r.Contact)
		}
		return r
	}

	console.do("type cust", searchFor("cust"))
	if r := row("cust"); !slices.Equal(r.Marked, []string{"Cust"}) || !slices.Equal(r.InMail, []string{"cust"}) || len(r.InPhone) != 0 || r.Matched != "" {
		t.Errorf(`"cust" marked %q in the name, %q in the email, %q in the phone, and says %q; want "Cust", "cust", nothing, nothing`,
			r.Marked, r.InMail, r.InPhone, r.Matched)
	}

	console.do("type a phone number", searchFor("555 010 77"))
	if r := row("phone"); strings.Join(r.InPhone, " ") != "555 010 77" || len(r.Marked) != 0 || len(r.InMail) != 0 {
		t.Errorf(`"555 010 77" marked %q in the phone (want the digits typed: 555 010 77), %q in the name, %q in the email`,
			r.InPhone, r.Marked, r.InMail)
	}

	// On a phone: the device line fits the row, and the row stays accessible.
	console.do("type a serial number on a phone", atPhoneSize, searchFor("t100-2025-h"), waitFor(noOverflow))
	if r := row("device"); r.Matched != "Device T100-2025-HALL" || !slices.Equal(r.InMatch, []string{"T100-2025-H"}) {
		t.Errorf(`"t100-2025-h" says %q with %q marked, want "Device T100-2025-HALL" with "T100-2025-H"`, r.Matched, r.InMatch)
	}
	console.checkAccessibility("a device matched")

	// Nothing found: the console offers a query near it, and a click on it searches it.
	console.do("a typo", searchFor("casey custmer"),
		waitFor(`document.querySelector('#result-count').textContent === 'No customers match.'`))
	offered := eval[[]string](console, `[...document.querySelectorAll('#suggestions button')].map((b) => b.textContent)`)
	if text := eval[string](console, `document.querySelector('#suggestions').textContent`); len(offered) == 0 || offered[0] != "casey customer" ||
		!strings.HasPrefix(text, "Did you mean: ") {
		t.Fatalf("after a typo the console offers %q (%v), want Did you mean: casey customer", text, offered)
	}
	console.do("suggestions fit", waitFor(noOverflow))
	console.checkAccessibility("suggestions")
	console.do("take the suggestion", click("#suggestions button"), searchSettled("casey customer"))
	if names := eval[[]string](console, `[...document.querySelectorAll('#results .name')].map((e) => e.textContent)`); !slices.Equal(names, []string{caseyName}) {
		t.Errorf("the suggestion lists %v, want %s", names, caseyName)
	}
	if r := row("suggestion"); !slices.Equal(r.Marked, []string{"Casey Customer"}) && !slices.Equal(r.Marked, []string{"Casey", "Customer"}) {
		t.Errorf("the suggestion marked %q in the name, want both words", r.Marked)
	}
	state := eval[string](console, `[document.activeElement.id, document.querySelector('#suggestions').textContent, decodeURIComponent(location.hash)].join('|')`)
	if want := fmt.Sprintf("search||#customers?q=%s", strings.ReplaceAll("casey customer", " ", "+")); state != want {
		t.Errorf("after the suggestion: focus, suggestions and address %q, want %q", state, want)
	}
}
