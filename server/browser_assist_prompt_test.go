package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The dashboard's consent prompt shows one request at a time, its words
// unchanged when a second request comes (queued, shown after the first is
// answered), and Escape, even twice, never leaves a request unanswerable:
// the prompt opens again while its request waits.
func TestBrowserConsentPromptQueuesRequestsAndSurvivesEscape(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	customer := customerAtHome(t, b, f)
	support, admin := f.login(t, "support@demo.test"), f.login(t, "admin@demo.test")
	startAs := func(token, reason string) string {
		t.Helper()
		resp := f.post(t, token, startModeMutation, map[string]any{"id": f.customerID(), "reason": reason, "mode": "CONTROL"})
		id, _ := dig(resp.Data, "startAssist", "assistSession", "id").(string)
		if id == "" || dig(resp.Data, "startAssist", "assistSession", "state") != "PENDING" {
			t.Fatalf("startAssist: %+v", resp)
		}
		return id
	}
	stateOf := func(id string) string {
		t.Helper()
		resp := f.post(t, admin, `query($id: ID!) { node(id: $id) { ... on AssistSession { state } } }`, map[string]any{"id": id})
		s, _ := dig(resp.Data, "node", "state").(string)
		return s
	}

	first := startAs(support, "first request")
	customer.do("asked", visible("#assist-request"), waitFor(`document.querySelector('#assist-request-text').textContent.includes('first request')`))
	second := startAs(admin, "second request")
	time.Sleep(time.Second) // the second request reaches the page
	customer.do("the words stay", waitFor(`document.querySelector('#assist-request-text').textContent.includes('first request')`))

	customer.do("Escape twice", chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent(kb.Escape), chromedp.Sleep(300*time.Millisecond),
		waitFor(`document.querySelector('#assist-request').open`),
		waitFor(`document.querySelector('#assist-request-text').textContent.includes('first request')`))
	customer.do("allow the first", click("#assist-approve"),
		waitFor(`document.querySelector('#assist-request').open && document.querySelector('#assist-request-text').textContent.includes('second request')`))
	if s1, s2 := stateOf(first), stateOf(second); s1 != "ACTIVE" || s2 != "PENDING" {
		t.Fatalf("after Allow on the first request: %s, %s; want ACTIVE, PENDING", s1, s2)
	}
	customer.checkAccessibility("the second request, queued")
	customer.do("decline the second", click("#assist-decline"), waitFor(`!document.querySelector('#assist-request').open`))
	if s := stateOf(second); s != "DECLINED" {
		t.Fatalf("the second request after Decline: %s", s)
	}
}
