package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// The accessibility check runs axe-core (Deque's rules engine, pinned in clients/package.json and
// installed with the standard clients' `npm ci`) inside the page under test: the rules tagged for
// WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus axe's best practices. A violation whose impact is
// serious or critical fails the test; minor and moderate ones are logged.

var (
	axeOnce   sync.Once
	axeScript string
	axeErr    error
)

// axeRules are the axe-core rule tags the check runs (axe-core's documentation, "Rule tags").
var axeRules = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"}

// axeViolation is the part of an axe-core result the check reports.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkAccessibility runs axe-core on what p shows now (an open dialog included) and fails the
// test on a serious or critical violation. Without Node it is skipped (logged), unless
// BFF_REQUIRE_NODE=1 (scripts/test sets it).
func (p *page) checkAccessibility(step string) {
	t := p.b.t
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil && os.Getenv("BFF_REQUIRE_NODE") != "1" {
		t.Logf("%s: %s: accessibility not checked: npm is not on PATH", p.name, step)
		return
	}
	ensureClientPackages(t)
	axeOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(clientsDir, "node_modules", "axe-core", "axe.min.js"))
		axeScript, axeErr = string(b), err
	})
	if axeErr != nil {
		t.Fatalf("read axe-core: %v", axeErr)
	}
	tags, _ := json.Marshal(axeRules)
	run := fmt.Sprintf(`(async () => {
		if (!window.axe) { %s }
		const result = await axe.run(document, { runOnly: { type: 'tag', values: %s }, resultTypes: ['violations'] });
		return JSON.stringify({ violations: result.violations, passes: result.passes.length, incomplete: result.incomplete.length });
	})()`, axeScript, tags)
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %s: run axe-core: %v", p.name, step, err)
	}
	var result struct {
		Violations []axeViolation `json:"violations"`
		Passes     int            `json:"passes"`
	}
	if err := json.Unmarshal([]byte(out), &result); err != nil {
		t.Fatalf("%s: %s: axe-core's answer: %v", p.name, step, err)
	}
	if result.Passes == 0 {
		t.Fatalf("%s: %s: axe-core checked nothing", p.name, step)
	}
	t.Logf("%s: %s: axe-core: %d rules passed, %d violated", p.name, step, result.Passes, len(result.Violations))
	for _, v := range result.Violations {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target...)+" "+n.HTML)
		}
		line := fmt.Sprintf("%s: %s: axe %s (%s): %s\n\t%s", p.name, step, v.ID, v.Impact, v.Help, strings.Join(where, "\n\t"))
		if v.Impact == "serious" || v.Impact == "critical" {
			p.photograph("accessibility " + step)
			t.Error(line)
		} else {
			t.Log(line)
		}
	}
}
