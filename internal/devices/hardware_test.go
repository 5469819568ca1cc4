package devices_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/ids"
)

// wantRefused checks that err is a *apperr.ValidationError on field with code.
func wantRefused(t *testing.T, err error, field, code string) {
	t.Helper()
	var ve *apperr.ValidationError
	if !errors.As(err, &ve) || ve.Field != field || ve.Code != code || ve.Message == "" {
		t.Fatalf("error = %#v, want a ValidationError on %s with code %s", err, field, code)
	}
}

func TestParseMAC(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"AA:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE:FF"},
		{"aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF"},
		{"Aa:bB:01:23:45:67", "AA:BB:01:23:45:67"},
		{"aa-bb-cc-dd-ee-ff", "AA:BB:CC:DD:EE:FF"},
		{"AA-BB-CC-DD-EE-FF", "AA:BB:CC:DD:EE:FF"},
		{"aabbccddeeff", "AA:BB:CC:DD:EE:FF"},
		{"AABBCCDDEEFF", "AA:BB:CC:DD:EE:FF"},
		{"0242ac110002", "02:42:AC:11:00:02"},
		{"00:00:00:00:00:00", "00:00:00:00:00:00"},
		{"  02:42:ac:11:00:02\t", "02:42:AC:11:00:02"}, // surrounding white space is trimmed
		{"", ""},    // no address
		{"   ", ""}, // no address
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := devices.ParseMAC(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseMAC(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if again, err := devices.ParseMAC(got); err != nil || again != got {
				t.Fatalf("the stored form %q does not parse to itself: %q, %v", got, again, err)
			}
		})
	}
	for _, in := range []string{
		"aabb.ccdd.eeff",                          // dotted: net.ParseMAC takes it, the rule does not
		"AABB.CCDD.EEFF",                          // dotted
		"aa:bb-cc:dd-ee:ff",                       // mixed separators
		"aa-bb:cc:dd:ee:ff",                       // mixed separators
		"aa:bb:cc:dd:ee",                          // five octets
		"aa:bb:cc:dd:ee:ff:00",                    // seven octets
		"aa:bb:cc:dd:ee:ff:00:11",                 // EUI-64
		"aa-bb-cc-dd-ee-ff-00-11",                 // EUI-64
		"aabbccddeeff0011",                        // EUI-64, bare
		"0000.0000.fe80.0000.0000.0000.0200.5e10", // 20-byte InfiniBand
		"aabbccddeef",                             // eleven digits
		"aabbccddeeff0",                           // thirteen digits
		"gg:bb:cc:dd:ee:ff",                       // not hex
		"aabbccddeegg",                            // not hex
		"a:b:c:d:e:f",                             // one digit per octet
		"aa bb cc dd ee ff",                       // spaces
		"aa.bb.cc.dd.ee.ff",                       // dots between octets
		"aa:bb:cc:dd:ee:ｆｆ",                       // full-width
		"0x aabbccddeeff",
		"aa::bb:cc:dd:ee",
		"aabbcc-ddeeff",
	} {
		t.Run(in, func(t *testing.T) {
			got, err := devices.ParseMAC(in)
			if got != "" {
				t.Fatalf("ParseMAC(%q) = %q", in, got)
			}
			wantRefused(t, err, "macAddress", "INVALID")
		})
	}
}

func TestParseSerial(t *testing.T) {
	long := strings.Repeat("A", devices.MaxSerialLength)
	for _, tt := range []struct{ in, want string }{
		{"T100-2024-0000042", "T100-2024-0000042"},
		{"t100-2024-0000042", "T100-2024-0000042"},
		{"c02xk1abjg5h", "C02XK1ABJG5H"},
		{"  SN123  ", "SN123"}, // trimmed
		{"\tAB-12\n", "AB-12"},
		{"7", "7"},
		{"-", "-"},
		{long, long},
		{strings.ToLower(long), long},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := devices.ParseSerial(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseSerial(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, tt := range []struct{ in, code string }{
		{"", "REQUIRED"},
		{"   ", "REQUIRED"},
		{long + "A", "TOO_LONG"},
		{"  " + long + "B  ", "TOO_LONG"},
		{"T100 2024", "INVALID"},  // inner space
		{"T100_2024", "INVALID"},  // underscore
		{"T100/2024", "INVALID"},  // slash
		{"T100.2024", "INVALID"},  // dot
		{"SN#1", "INVALID"},       // punctuation
		{"ÄB-12", "INVALID"},      // not ASCII
		{"ＡＢ12", "INVALID"},       // full-width
		{"AB\x0012", "INVALID"},   // control character
		{"AB\u202e21", "INVALID"}, // bidirectional override
		{strings.Repeat("Ä", 40), "INVALID"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := devices.ParseSerial(tt.in)
			if got != "" {
				t.Fatalf("ParseSerial(%q) = %q", tt.in, got)
			}
			wantRefused(t, err, "serialNumber", tt.code)
		})
	}
}

func TestModelPrefix(t *testing.T) {
	for _, tt := range []struct{ model, want string }{
		{"Thermostat T-100", "T100"},
		{"Heat Pump HP-9", "HP9"},
		{"Air Purifier A1", "A1"},
		{"T-100", "T100"},
		{"thermostat x-200", "X200"},
		{"Boiler Link B2", "B2"},
		{"Gadget VERYLONGNAME123", "VERYLONG"},
		{"Gadget ---", "DEV"},
		{"Pompe à chaleur PAC-Ü7", "PAC7"},
		{"", "DEV"},
	} {
		if got := devices.ModelPrefix(tt.model); got != tt.want {
			t.Errorf("ModelPrefix(%q) = %q, want %q", tt.model, got, tt.want)
		}
	}
}

// TestBackfill pins what BackfillSerial and BackfillMAC return: the SQLite
// migration and the MongoDB start-up both derive them, possibly years apart.
func TestBackfill(t *testing.T) {
	for _, tt := range []struct{ id, model, serial, mac string }{
		{"0196a3f2c4d81b7e9a0c3f55d2e1b4a7", "Thermostat T-100", "T100-06BA7WP4V0DQX6GC7XAX5RDMMW", "02:9C:47:54:FB:25"},
		{"00000000000000000000000000000000", "Heat Pump HP-9", "HP9-00000000000000000000000000", "02:84:E0:C0:EA:FA"},
		{"d1", "", "DEV-UHD9P77RN5J7WDVSGG0QXWHHB", "02:8B:53:63:9F:15"},
		{"0196A3F2C4D81B7E9A0C3F55D2E1B4A7", "T-100", "T100-UCDDZ997JVKJGBTAGBT0BNQF6", "02:63:5B:F4:A4:F2"},
	} {
		if got := devices.BackfillSerial(tt.id, tt.model); got != tt.serial {
			t.Errorf("BackfillSerial(%q, %q) = %q, want %q", tt.id, tt.model, got, tt.serial)
		}
		if got := devices.BackfillMAC(tt.id); got != tt.mac {
			t.Errorf("BackfillMAC(%q) = %q, want %q", tt.id, got, tt.mac)
		}
	}
	// Whatever the id, what they return is what the rules store.
	seen := map[string]bool{}
	for i := range 2000 {
		id := ids.New()
		if i%2 == 1 {
			id = "legacy-" + id[20:]
		}
		serial, mac := devices.BackfillSerial(id, "Thermostat T-100"), devices.BackfillMAC(id)
		if got, err := devices.ParseSerial(serial); err != nil || got != serial {
			t.Fatalf("BackfillSerial(%q) = %q, which ParseSerial reads as %q, %v", id, serial, got, err)
		}
		if got, err := devices.ParseMAC(mac); err != nil || got != mac || mac[:3] != "02:" {
			t.Fatalf("BackfillMAC(%q) = %q, which ParseMAC reads as %q, %v", id, mac, got, err)
		}
		if seen[serial] {
			t.Fatalf("two ids got serial number %s", serial)
		}
		seen[serial] = true
	}
}
