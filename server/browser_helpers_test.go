package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's headless Chromium through the DevTools
// protocol (chromedp). Without a Chromium they skip, unless
// BFF_REQUIRE_BROWSER=1 (set by .ci/run, which installs it), when they fail.

// chromiumPath returns the Chromium to drive, or "".
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one test's use of the package's headless Chromium (see
// chromium): each of its pages is a tab in a browser context of its own.
// When the test fails, the step that failed and every page as it was at
// the end are photographed, and the photographs written to a directory the
// test log names. (Photographing every step took a third of the browser
// tests' time on the 2-core CI machine: 56 s against 41 s for seven of them.)
type browser struct {
	t   *testing.T
	ctx context.Context // the shared Chromium's

	mu      sync.Mutex
	shots   []shot
	console []string // what the pages wrote to their consoles, for a failure's log
}

type shot struct {
	name string
	png  []byte
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("BFF_REQUIRE_BROWSER") == "1" {
			t.Fatal("no Chromium found (install Debian's chromium, or set CHROMIUM)")
		}
		t.Skip("no Chromium found: install Debian's chromium (.ci/run does) to run the browser tests")
	}
	ctx, err := chromium.get(path)
	if err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	b := &browser{t: t, ctx: ctx}
	t.Cleanup(b.saveShotsIfFailed)
	return b
}

// chromium is the one Chromium process the package's browser tests share,
// started by the first and stopped by TestMain (stopChromium). Tests stay
// apart because every page opens in a browser context of its own (separate
// cookies, storage and cache); starting a Chromium for each test took 1.5
// to 3 s of the 2-core CI machine's time, about two minutes of the suite.
// A browser that died is started again for the next test.
var chromium sharedChromium

type sharedChromium struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel func()
}

func (c *sharedChromium) get(path string) (context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil && c.ctx.Err() == nil {
		return c.ctx, nil
	}
	c.stopLocked()
	dataDir, err := os.MkdirTemp("", "chromium-data-")
	if err != nil {
		return nil, err
	}
	// With dev-shm disabled Chromium keeps its shared memory in TMPDIR, in
	// org.chromium.Chromium.* directories it leaves behind: a directory of
	// its own, removed with it, short enough for its singleton's Unix
	// socket (a path of at most 108 bytes).
	tmpDir, err := os.MkdirTemp("", "chromium-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), // containers often have a tiny /dev/shm
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(dataDir),
		chromedp.Env("TMPDIR="+tmpDir),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	c.ctx = ctx
	c.cancel = func() {
		cancel()
		cancelAlloc() // waits for the process to end
		_ = os.RemoveAll(dataDir)
		_ = os.RemoveAll(tmpDir)
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		c.stopLocked()
		return nil, err
	}
	return ctx, nil
}

func (c *sharedChromium) stopLocked() {
	if c.cancel != nil {
		c.cancel()
	}
	c.ctx, c.cancel = nil, nil
}

// stopChromium ends the shared Chromium, if one was started; TestMain calls
// it when the tests are done.
func stopChromium() {
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	chromium.stopLocked()
}

// saveShotsIfFailed writes every step's screenshot when the test failed.
func (b *browser) saveShotsIfFailed() {
	if !b.t.Failed() {
		return
	}
	dir := filepath.Join(os.TempDir(), "bff-browser-tests", fmt.Sprintf("%s-%d", strings.ReplaceAll(b.t.Name(), "/", "_"), time.Now().Unix()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshots not saved: %v", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, line := range b.console {
		b.t.Logf("console %s", line)
	}
	for i, s := range b.shots {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.png", i+1, s.name)), s.png, 0o644)
	}
	b.t.Logf("screenshots of the failed step and of each page at the end: %s", dir)
}

// page is one tab in its own browser context (separate cookies and storage),
// like a second person on another computer.
type page struct {
	b    *browser
	name string
	ctx  context.Context
}

// newPage opens a tab in a new browser context. If the test fails, the tab
// is photographed before it closes.
func (b *browser) newPage(name string) *page {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &page{b: b, name: name, ctx: ctx}
	b.t.Cleanup(func() {
		if b.t.Failed() {
			p.photograph("at the end")
		}
		cancel()
	})
	p.attach()
	return p
}

// attach opens the page's tab (or attaches to it) and records its console.
// It runs without a timeout: the first run on a context owns its tab.
func (p *page) attach() {
	p.b.t.Helper()
	if err := chromedp.Do(p.ctx); err != nil {
		p.b.t.Fatalf("%s: open the tab: %v", p.name, err)
	}
	p.recordConsole()
}

// recordConsole keeps the page's console messages and uncaught exceptions.
func (p *page) recordConsole() {
	go func() {
		for m, err := range chromedp.Console(p.ctx) {
			if err != nil {
				return
			}
			p.b.mu.Lock()
			p.b.console = append(p.b.console, p.name+": "+m.String())
			p.b.mu.Unlock()
		}
	}()
}

// do runs the actions of one step (15 s at most). A step that fails is
// photographed and ends the test.
func (p *page) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.photograph(step)
		p.b.t.Fatalf("%s: %s: %v", p.name, step, err)
	}
}

func (p *page) photograph(step string) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return
	}
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	p.b.shots = append(p.b.shots, shot{name: p.name + "-" + strings.ReplaceAll(step, " ", "-"), png: png})
}

// waitFor polls a JavaScript expression until it is true.
func waitFor(expression string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expression, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))
}

// eval returns the value of a JavaScript expression in p.
func eval[T any](p *page, expression string) T {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		p.photograph("eval")
		p.b.t.Fatalf("%s: evaluate %s: %v", p.name, expression, err)
	}
	return v
}

// fill replaces the value of the input matched by sel with text, as a
// person does: select what is there, delete it, type key by key; then it
// waits until every password strength meter of the page has its rating
// (aria-busy, strength.js), as a person sees it before going on: feedback
// that lands later moves what is below it, and a click aimed at a button
// there would land on whatever took its place.
func fill(sel, text string) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).select()`, sel)))
			return err
		}),
		chromedp.KeyEvent("\b"),
	}
	if text != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.CSS(sel), text))
	}
	steps = append(steps, waitFor(`document.querySelector('.strength[aria-busy="true"]') === null`))
	return chromedp.Steps(steps...)
}

// click clicks the element matched by the CSS selector sel. A page that
// draws the element again between finding it and clicking it (the console's
// details do at each event) makes the browser answer that the node is gone:
// the click then finds the element anew, up to three times.
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		var err error
		for range 3 {
			if _, err = chromedp.Run(ctx, chromedp.Click(chromedp.CSS(sel))); err == nil || !strings.Contains(err.Error(), "Could not find node") {
				return err
			}
		}
		return err
	})
}

// visible waits until the element matched by the CSS selector sel is visible.
func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// openedTab runs the actions of step and returns the tab they opened.
func (p *page) openedTab(step, name string, actions ...chromedp.Action[chromedp.Void]) *page {
	p.b.t.Helper()
	opened := chromedp.WaitNewTarget(p.ctx, func(i *target.Info) bool { return i.Type == "page" })
	p.do(step, actions...)
	var id target.ID
	select {
	case id = <-opened:
	case <-time.After(10 * time.Second):
		p.b.t.Fatalf("%s: %s opened no tab", p.name, step)
	}
	ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(id))
	p.b.t.Cleanup(cancel)
	tab := &page{b: p.b, name: name, ctx: ctx}
	tab.attach()
	return tab
}

// signIn fills a page's sign-in form (the same on every page) and sends it.
func signIn(email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		fill("#sign-in-domain", "demo"),
		fill("#sign-in-email", email),
		fill("#sign-in-password", password),
		click(`#sign-in-form button[type=submit]`))
}

// consoleSignIn opens the console in p and signs an operator of the demo domain in.
func (p *page) consoleSignIn(base, email string) {
	p.b.t.Helper()
	p.do("console sign-in", chromedp.Navigate(base+"/console"), signIn(email, testPassword),
		visible("#search"), waitFor(`document.querySelectorAll('#results li').length > 0`))
}

// dashboardSignIn opens the dashboard in p and signs a customer of the demo domain in.
func (p *page) dashboardSignIn(base, email, password string) {
	p.b.t.Helper()
	p.do("dashboard sign-in", chromedp.Navigate(base+"/dashboard"), signIn(email, password), visible("#devices form"))
	p.checkNoLeakedValues("#account")
}

// leakedValue matches what a page shows when a script renders a value it
// should not have: false, undefined, null, NaN, [object Object].
var leakedValue = regexp.MustCompile(`\b(false|true|undefined|null|NaN)\b|\[object Object\]`)

// checkNoLeakedValues fails the test when the text of sel shows a leaked value.
func (p *page) checkNoLeakedValues(sel string) {
	p.b.t.Helper()
	if text := eval[string](p, fmt.Sprintf(`document.querySelector(%q).innerText`, sel)); leakedValue.MatchString(text) {
		p.photograph("leaked value")
		p.b.t.Errorf("%s: %s shows %q: %q", p.name, sel, leakedValue.FindString(text), text)
	}
}

// searchProbe keeps, in the console's page, the order of two things the
// page does not show: every edit of the search box (its input events) and
// every new search the page sends (a POST /graphql of the customers query
// without a cursor: "Load more" is not a new search), with the text searched
// for. One counter numbers both, so that a search sent after the last
// keystroke tells itself apart from an older one for the same text. It is
// installed once per document (a reload needs it again) and changes nothing
// the page does.
const searchProbe = `(() => {
  if (window.searchProbe) return;
  const probe = window.searchProbe = { seq: 0, input: 0, sent: 0, query: null };
  document.addEventListener('input', (e) => { if (e.target.id === 'search') probe.input = ++probe.seq; }, true);
  const send = window.fetch;
  window.fetch = function (resource, init) {
    try {
      const body = JSON.parse(init?.body ?? 'null');
      if (body?.query?.includes('customers(') && body.variables?.after == null) {
        probe.sent = ++probe.seq;
        probe.query = body.variables.query;
      }
    } catch { /* not a GraphQL request */ }
    return send.apply(this, arguments);
  };
})()`

// searchFor types query (not empty) into the console's search box and waits
// until the list shows the answer to it: rows of an intermediate answer (for
// "cas" while "casey" is being typed) are replaced when the final one
// arrives, and a click on one of them would find no node.
func searchFor(query string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Evaluate[chromedp.Void](searchProbe), fill("#search", query), searchSettled(query))
}

// searchSettled waits until the console's list shows the answer to the
// search for query, the text in the search box (typed after searchFor
// installed its probe): a new search for it was sent after the last edit of
// the box, and no search is in flight any more (the page keeps "Load more"
// disabled from the moment it sends a search until it has shown the answer
// to the latest one). The list is then left two frames to start a "Load
// more" (infinite scroll, when the button shows in view) before the wait
// checks again.
func searchSettled(query string) chromedp.Action[chromedp.Void] {
	settled := waitFor(fmt.Sprintf(`(() => {
		const probe = window.searchProbe, q = %q;
		return document.querySelector('#search').value === q && probe.sent > probe.input && probe.query === q &&
			!document.querySelector('#more').disabled;
	})()`, query))
	twoFrames := chromedp.Evaluate[chromedp.Void](`new Promise((done) => {
		requestAnimationFrame(() => requestAnimationFrame(() => done()));
		setTimeout(done, 200); // a page that draws no frames goes on all the same
	})`, chromedp.EvalAwaitPromise)
	return chromedp.Steps(settled, twoFrames, settled)
}

// selectCustomer searches the console for query and opens the customer named name.
func (p *page) selectCustomer(query, name string) {
	p.b.t.Helper()
	p.do("select "+name,
		searchFor(query),
		waitFor(fmt.Sprintf(`[...document.querySelectorAll('#results .name')].some(e => e.textContent === %q)`, name)),
		chromedp.Click(fmt.Sprintf(`//ul[@id="results"]//button[.//span[@class="name" and text()=%q]]`, name)),
		waitFor(fmt.Sprintf(`document.querySelector('#details-name')?.textContent === %q`, name)),
	)
	p.checkNoLeakedValues("#details")
}

// slowGraphQL holds each of the page's POST /graphql requests for as long as
// delay says, given the request body: a slow network, as the page sees it.
func (p *page) slowGraphQL(delay func(body string) time.Duration) {
	p.b.t.Helper()
	err := chromedp.Listen(p.ctx, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		var body strings.Builder
		for _, entry := range e.Request.PostDataEntries {
			body.Write(entry.Bytes)
		}
		go func() { // never call the browser from the listener itself
			time.Sleep(delay(body.String()))
			_, _ = chromedp.Call(p.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
		}()
	})
	if err == nil {
		_, err = chromedp.Call(p.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/graphql"}}})
	}
	if err != nil {
		p.b.t.Fatalf("%s: hold requests: %v", p.name, err)
	}
}
