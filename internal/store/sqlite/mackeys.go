package sqlite

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
)

// The devices table keeps a MAC address written as devices.ParseMAC gives
// it ("AA:BB:CC:DD:EE:FF") as its 6 bytes, a BLOB, and anything else (""
// for none) as its text (migration 23): 11 bytes less a device, 16 a
// customer of the demo's (docs/BENCHMARKS.md, "Twentieth round"). Every
// MAC address bound to or read from devices.mac_address goes through macKey
// and macScan (in SQL, macKeySQL and deviceMACText).

// macKey returns a MAC address as the devices table keeps it, to bind.
func macKey(mac string) any {
	if !canonicalMAC(mac) {
		return mac
	}
	b, _ := hex.DecodeString(strings.ReplaceAll(mac, ":", "")) // canonicalMAC: 12 hex digits
	return b
}

// canonicalMAC reports whether mac is written as devices.ParseMAC writes
// one: six pairs of upper-case hex digits separated by colons.
func canonicalMAC(mac string) bool {
	if len(mac) != 17 {
		return false
	}
	for i := 0; i < len(mac); i++ {
		c := mac[i]
		switch {
		case i%3 == 2:
			if c != ':' {
				return false
			}
		case !('0' <= c && c <= '9' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}

// macKeySQL is the SQL expression of macKey applied to column.
func macKeySQL(column string) string {
	return fmt.Sprintf(`CASE WHEN length(%[1]s) = 17 AND %[1]s GLOB '[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]'
	THEN unhex(replace(%[1]s, ':', '')) ELSE %[1]s END`, column)
}

// deviceMACText is a MAC address device d keeps as text, for JSON, which
// holds no BLOB: a kept address's 12 upper-case hex digits without colons,
// which customers.DeviceTokens reads as it reads the address with them.
const deviceMACText = `CASE WHEN typeof(d.mac_address) = 'blob' THEN hex(d.mac_address) ELSE d.mac_address END`

// macScan returns a sql.Scanner that reads a MAC address the devices table
// keeps into dest, as it was written.
func macScan(dest *string) sql.Scanner { return storedMAC{dest} }

type storedMAC struct{ dest *string }

func (s storedMAC) Scan(v any) error {
	switch v := v.(type) {
	case []byte:
		if len(v) != 6 {
			return fmt.Errorf("stored MAC address: %d bytes, not 6", len(v))
		}
		const digits = "0123456789ABCDEF"
		text := make([]byte, 0, 17)
		for i, octet := range v {
			if i > 0 {
				text = append(text, ':')
			}
			text = append(text, digits[octet>>4], digits[octet&0xF])
		}
		*s.dest = string(text)
	case string:
		*s.dest = v
	default:
		return fmt.Errorf("stored MAC address: %T, not a BLOB or text", v)
	}
	return nil
}
