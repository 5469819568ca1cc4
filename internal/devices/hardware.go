package devices

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net"
	"strings"

	"github.com/iotconsole/bff/internal/apperr"
)

// MaxSerialLength is the longest serial number, in characters.
const MaxSerialLength = 64

// ParseSerial returns s as a serial number is stored: without surrounding
// white space and in upper case. A serial number is 1 to MaxSerialLength of
// the ASCII letters A to Z (either case), the digits 0 to 9 and the hyphen;
// nothing else, so that it reads the same on a label, on the phone and in the
// console, and "t100-0042" and "T100-0042" are one serial number. It returns a
// *apperr.ValidationError on field "serialNumber" otherwise: code REQUIRED
// for a blank s, INVALID for any other character, TOO_LONG beyond
// MaxSerialLength.
func ParseSerial(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", apperr.Invalid("serialNumber", "REQUIRED", "A serial number is required.")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", apperr.Invalid("serialNumber", "INVALID", "A serial number has only the letters A to Z, digits and hyphens.")
		}
	}
	if len(s) > MaxSerialLength {
		return "", apperr.Invalid("serialNumber", "TOO_LONG", fmt.Sprintf("A serial number has at most %d characters.", MaxSerialLength))
	}
	return strings.ToUpper(s), nil
}

// ParseMAC returns s, a 48-bit MAC address (EUI-48), as it is stored: six
// pairs of upper-case hexadecimal digits joined by colons,
// "AA:BB:CC:DD:EE:FF". It accepts, after trimming surrounding white space,
// exactly three forms in either case: colon-separated ("aa:bb:cc:dd:ee:ff"),
// hyphen-separated ("AA-BB-CC-DD-EE-FF") and the bare twelve digits
// ("aabbccddeeff"). A blank s is no address: ParseMAC returns "" and no
// error. Anything else, including the dotted form ("aabb.ccdd.eeff"), mixed
// separators and 64-bit or 20-byte addresses, is a *apperr.ValidationError on
// field "macAddress" with code INVALID.
func ParseMAC(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	form := s
	switch {
	case len(s) == 12:
		if _, err := hex.DecodeString(s); err == nil {
			form = s[0:2] + ":" + s[2:4] + ":" + s[4:6] + ":" + s[6:8] + ":" + s[8:10] + ":" + s[10:12]
		}
	case len(s) == 17 && (s[2] == ':' || s[2] == '-'):
	default:
		form = "" // the dotted and longer forms net.ParseMAC would take
	}
	// net.ParseMAC checks the digits and that every separator is the first one.
	hw, err := net.ParseMAC(form)
	if err != nil || len(hw) != 6 {
		return "", apperr.Invalid("macAddress", "INVALID",
			"A MAC address is 12 hexadecimal digits, written AA:BB:CC:DD:EE:FF, AA-BB-CC-DD-EE-FF or AABBCCDDEEFF.")
	}
	return strings.ToUpper(hw.String()), nil
}

// crockford is Crockford's base 32: digits and upper-case letters without
// I, L, O and U, so that a serial number cannot be misread.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// BackfillSerial returns the serial number of device id of model stored
// before devices had serial numbers: the model's prefix (ModelPrefix), a
// hyphen and the id in Crockford's base 32, 26 characters for the 32
// lower-case hex digits of an id from ids.New (which is one-to-one, so that
// two devices never get one serial number), or for any other id "U" (a
// letter base 32 never writes) and the first 15 bytes of its SHA-256, 24
// characters. The result passes ParseSerial unchanged.
//
// The SQLite migration that added serial numbers and the MongoDB store's
// start-up both call it: never change what it returns, or devices backfilled
// by different versions would follow different rules (TestBackfill pins it).
func BackfillSerial(id, model string) string {
	body := ""
	if b, err := hex.DecodeString(id); err == nil && len(b) == 16 && id == strings.ToLower(id) {
		body = crockford.EncodeToString(b)
	} else {
		sum := sha256.Sum256([]byte(id))
		body = "U" + crockford.EncodeToString(sum[:15])
	}
	return ModelPrefix(model) + "-" + body
}

// BackfillMAC returns the MAC address of device id stored before devices had
// one: a locally administered unicast address (first octet 02, so it can be
// no manufacturer's) whose other five octets are the first five bytes of the
// SHA-256 of id, in the stored form. Like BackfillSerial, it must never
// change.
func BackfillMAC(id string) string {
	sum := sha256.Sum256([]byte(id))
	return strings.ToUpper(net.HardwareAddr{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}.String())
}

// ModelPrefix returns the short form of a model's name that starts its serial
// numbers: the letters and digits of its last word, in upper case, at most
// eight ("Thermostat T-100" gives "T100", "Heat Pump HP-9" "HP9"), or "DEV"
// when that leaves nothing.
func ModelPrefix(model string) string {
	words := strings.Fields(model)
	if len(words) == 0 {
		return "DEV"
	}
	var b strings.Builder
	for _, c := range strings.ToUpper(words[len(words)-1]) {
		if (c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') && b.Len() < 8 {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "DEV"
	}
	return b.String()
}
