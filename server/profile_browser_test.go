package main

import "testing"

// Another operator's correction of a customer's details appears in the open
// console without a reload: the list row, the details and their activity.
func TestBrowserProfileCorrectionsArriveLive(t *testing.T) {
	f := newAccountFixture(t, nil)
	console := newBrowser(t).newPage("console")
	console.consoleSignIn(f.URL(), "admin@demo.test")
	console.selectCustomer("casey", caseyName)

	support := f.login(t, "support@demo.test")
	version := f.current(t, support)["version"]
	resp := f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version,
		map[string]any{"lastName": "Corrected", "email": "casey.corrected@example.org"}))
	if dig(resp.Data, "updateCustomer", "changed") != true {
		t.Fatalf("update through the API: %+v", resp)
	}
	console.do("live correction",
		waitFor(`document.querySelector('#details-name').textContent === 'Casey Corrected'`),
		waitFor(`document.querySelector('#details').textContent.includes('casey.corrected@example.org')`),
		waitFor(`document.querySelector('#details-activity')?.textContent.includes('Details corrected by support')`),
		waitFor(`[...document.querySelectorAll('#results .name')].some((e) => e.textContent === 'Casey Corrected')`),
		waitFor(`document.querySelector('#results .result[aria-current="true"] .contact').textContent.includes('casey.corrected@example.org')`),
		waitFor(`document.querySelector('#status').textContent === "Casey Corrected's details were corrected by Sam Support."`))
	console.checkNoLeakedValues("#details")
}
