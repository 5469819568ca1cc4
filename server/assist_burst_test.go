package main

import (
	"fmt"
	"strings"
	"testing"
)

// controlAssistToken starts a CONTROL assistance the customer approves and
// returns its id and the assisted tab's token.
func (f *consentFixture) controlAssistToken(t *testing.T) (string, string) {
	t.Helper()
	assistID, _ := dig(f.start(t, "CONTROL", "burst"), "assistSession", "id").(string)
	f.customerEvent(t, "ASSIST_REQUESTED")
	if resp := f.post(t, f.own, respondMutation, map[string]any{"id": assistID, "approve": true}); dig(resp.Data, "respondToAssistRequest", "assistSession", "state") != "ACTIVE" {
		t.Fatalf("approve: %+v", resp)
	}
	resp := f.post(t, f.support, issueTicketMutation, map[string]any{"id": assistID})
	ticket, _ := dig(resp.Data, "issueAssistTicket", "ticket").(string)
	token, code := f.redeem(t, ticket)
	if token == "" {
		t.Fatalf("redeem: %s", code)
	}
	return assistID, token
}

// A request of as many aliased changes as the shape limits allow reaches the
// customer's live feed whole: every ASSIST_ACTION, then the end of the
// assistance (the broker dropped a subscriber 16 events behind, and the
// dashboard never subscribed again).
func TestAssistBurstOfChangesReachesTheCustomersFeed(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newConsentFixture(t, kind.edit(t))
			assistID, token := f.controlAssistToken(t)
			roots := defaultConfig().MaxRootFields
			var b strings.Builder
			b.WriteString("mutation($id: ID!) {")
			for i := range roots {
				fmt.Fprintf(&b, " r%d: updateDevice(input: {deviceId: $id, name: \"Room %d\"}) { device { name } }", i, i)
			}
			b.WriteString(" }")
			for round := range 3 { // three bursts back to back
				resp := f.post(t, token, b.String(), map[string]any{"id": globalIDForTest("Device", f.device.ID)})
				if len(resp.Errors) > 0 {
					t.Fatalf("burst %d: %+v", round, resp)
				}
			}
			for range 3 * roots {
				f.customerEvent(t, "ASSIST_ACTION")
			}
			if resp := f.post(t, f.support, endAssistMutation, map[string]any{"id": assistID}); dig(resp.Data, "endAssist", "assistSession", "state") != "ENDED" {
				t.Fatalf("endAssist: %+v", resp)
			}
			f.customerEvent(t, "ASSIST_ENDED")
		})
	}
}
