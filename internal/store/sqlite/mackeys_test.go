package sqlite

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/iotconsole/bff/internal/devices"
)

// A MAC address as devices.ParseMAC writes it is kept as its 6 bytes and
// read back as the same string, in Go and in SQL (the migration's
// macKeySQL); any other string is kept as it is.
func TestMACAddressesKeptAsBytesGiveTheSameStringBack(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, written := range []string{"02:10:C0:66:84:7A", "aa-bb-cc-dd-ee-ff", "AABBCCDDEEFF", "00:00:00:00:00:00", "FF:FF:FF:FF:FF:FF"} {
		mac, err := devices.ParseMAC(written)
		if err != nil {
			t.Fatal(err)
		}
		b, ok := macKey(mac).([]byte)
		if !ok || len(b) != 6 {
			t.Errorf("%s: kept as %T %v, want 6 bytes", mac, macKey(mac), macKey(mac))
			continue
		}
		var inSQL []byte
		if err := db.QueryRow(`SELECT `+macKeySQL("?1"), mac).Scan(&inSQL); err != nil || string(inSQL) != string(b) {
			t.Errorf("%s: SQL keeps %x (%v), Go %x", mac, inSQL, err, b)
		}
		var back string
		if err := macScan(&back).Scan(b); err != nil || back != mac {
			t.Errorf("%s: read back as %q (%v)", mac, back, err)
		}
	}
	for _, other := range []string{"", "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "AA:BB:CC:DD:EE", "GG:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE:FF:00", "AA:BB:CC:DD:EE:F\u00c9"} {
		if got, ok := macKey(other).(string); !ok || got != other {
			t.Errorf("%q: kept as %T %v, want the string as it is", other, macKey(other), macKey(other))
		}
		var inSQL any
		if err := db.QueryRow(`SELECT `+macKeySQL("?1"), other).Scan(&inSQL); err != nil || fmt.Sprint(inSQL) != other {
			t.Errorf("%q: SQL keeps %v (%v)", other, inSQL, err)
		}
	}
}
