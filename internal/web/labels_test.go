package web

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every audit action a customer's activity can hold (records about the
// customer, store.AboutCustomer) has words on the pages that show it (the
// dashboard's Activity and the console's Recent activity, both through
// ui.js's activityLabel): "authz_fail (failed) by support" was shown as it
// is. The actions are read from internal/audit, so a new one must be given
// words or named below as one no customer's activity holds.
func TestEveryActivityActionHasWords(t *testing.T) {
	src, err := os.ReadFile("../audit/audit.go")
	if err != nil {
		t.Fatal(err)
	}
	ui, err := os.ReadFile("static/ui.js")
	if err != nil {
		t.Fatal(err)
	}
	notAboutACustomer := map[string]string{
		"users_imported":           "a domain's record",
		"users_exported":           "a domain's record",
		"domain_updated":           "a domain's record",
		"authn_mfa_enroll_started": "operators only",
		"authn_mfa_enabled":        "operators only",
		"authn_mfa_disabled":       "operators only",
		"authn_mfa_fail":           "operators only",
	}
	actions := regexp.MustCompile(`(?m)^\s*Action\w+\s*=\s*"([a-z_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(actions) < 20 {
		t.Fatalf("read %d actions from audit.go: the pattern is stale", len(actions))
	}
	for _, m := range actions {
		action := m[1]
		if _, ok := notAboutACustomer[action]; ok {
			continue
		}
		if !strings.Contains(string(ui), " "+action+": '") && !strings.Contains(string(ui), " "+action+`: "`) {
			t.Errorf("ui.js's ACTIVITY has no words for %q", action)
		}
	}
}
