package main

import (
	"context"
	"strings"
	"testing"
)

const renameDeviceMutation = `mutation($id: ID!, $name: String!) {
  updateDevice(input: {deviceId: $id, name: $name}) { device { name } userErrors { field code message } }
}`

// TestDeviceNamesCannotLieToTheOperator renames a device over the API with
// names that would make the console show other text than is stored (control
// characters, bidirectional overrides and isolates, a line break) and checks
// that each is refused with a user error and changes nothing, and that an
// accepted name is stored in NFC, on both stores.
func TestDeviceNamesCannotLieToTheOperator(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			ctx := context.Background()
			token, _, _ := f.customerLogin(t, customerPassword)
			deviceID := globalIDForTest("Device", f.device.ID)
			before, err := f.store.DeviceByID(ctx, f.device.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{
				"Kitchen\u202egnp.exe",    // RIGHT-TO-LEFT OVERRIDE: shows "Kitchenexe.png"
				"\u2066Hall\u2069",        // LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
				"Hall\u200f",              // RIGHT-TO-LEFT MARK
				"Hall\x00hidden",          // NUL
				"Hall\nOperator note: ok", // a line break
				"Hall\tTab",               // a tab
				"Hall\u0085",              // NEXT LINE (C1)
			} {
				resp := f.post(t, token, renameDeviceMutation, map[string]any{"id": deviceID, "name": name})
				errs, _ := dig(resp.Data, "updateDevice", "userErrors").([]any)
				if len(resp.Errors) > 0 || len(errs) != 1 || dig(errs[0], "code") != "INVALID" || fieldPath(errs[0]) != "name" {
					t.Fatalf("rename to %q: %+v, want one INVALID user error on name", name, resp)
				}
				if dig(resp.Data, "updateDevice", "device") != nil {
					t.Fatalf("rename to %q returned a device: %+v", name, resp)
				}
			}
			after, err := f.store.DeviceByID(ctx, f.device.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Name != before.Name || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("refused renames changed the device: %+v, was %+v", after, before)
			}

			resp := f.post(t, token, renameDeviceMutation, map[string]any{"id": deviceID, "name": "  Cafe\u0301 "})
			if got := dig(resp.Data, "updateDevice", "device", "name"); got != "Caf\u00e9" {
				t.Fatalf("rename to a decomposed name answered %q (%+v), want the NFC form", got, resp)
			}
			if d, err := f.store.DeviceByID(ctx, f.device.ID); err != nil || d.Name != "Caf\u00e9" {
				t.Fatalf("stored name %q (%v), want %q in NFC", d.Name, err, "Caf\u00e9")
			}
			for _, name := range []string{"客厅", "غرفة المعيشة", "Nursery 👶🏽", "Sauna 🧖‍♀️"} {
				resp := f.post(t, token, renameDeviceMutation, map[string]any{"id": deviceID, "name": name})
				if got := dig(resp.Data, "updateDevice", "device", "name"); got != name {
					t.Fatalf("rename to %q: %+v", name, resp)
				}
			}
		})
	}
}

// fieldPath joins a user error's field path with dots.
func fieldPath(userError any) string {
	parts, _ := dig(userError, "field").([]any)
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i], _ = p.(string)
	}
	return strings.Join(s, ".")
}
