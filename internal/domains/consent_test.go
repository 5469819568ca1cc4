package domains_test

import (
	"testing"

	"github.com/iotconsole/bff/internal/domains"
)

func TestAssistConsentNeeded(t *testing.T) {
	for _, tt := range []struct {
		consent       domains.AssistConsent
		view, control bool
	}{
		{domains.AssistConsentNone, false, false},
		{domains.AssistConsentControl, false, true},
		{"", false, true}, // a new domain's default
		{domains.AssistConsentAll, true, true},
	} {
		if got := tt.consent.Needed(false); got != tt.view {
			t.Errorf("%q: a view-only assistance needs consent = %v, want %v", tt.consent, got, tt.view)
		}
		if got := tt.consent.Needed(true); got != tt.control {
			t.Errorf("%q: control needs consent = %v, want %v", tt.consent, got, tt.control)
		}
	}
}

func TestCheckDefaultsAndRefusesAssistConsent(t *testing.T) {
	d := domains.Domain{Slug: "acme", Name: "Acme", DefaultRegion: "US"}
	got, err := d.Check()
	if err != nil || got.AssistConsent != domains.AssistConsentControl {
		t.Fatalf("a new domain: %+v %v, want consent CONTROL", got, err)
	}
	d.AssistConsent = "SOMETIMES"
	if _, err := d.Check(); err == nil {
		t.Fatal("an unknown consent setting was taken")
	}
}
