package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/emails"
	"github.com/iotconsole/bff/internal/names"
)

// TestGeneratedNamesPassTheRules checks that the generator's names and
// addresses are what the services would store: names.Clean and emails.Parse
// accept them unchanged (NFC, no control, invisible or text-direction characters).
func TestGeneratedNamesPassTheRules(t *testing.T) {
	for _, list := range [][]string{firstNames, lastNames, deviceNames} {
		for _, n := range list {
			if got, err := names.Clean("name", n, devices.MaxNameLength); err != nil || got != n {
				t.Errorf("names.Clean(%q) = %q, %v; want it unchanged", n, got, err)
			}
		}
	}
	g := NewGenerator(domains.Domain{ID: "d1", DefaultRegion: "US"}, "hash", 0, time.Now())
	for range 500 {
		c, _ := g.Next()
		if got, err := emails.Parse("email", c.Email); err != nil || got != c.Email {
			t.Fatalf("emails.Parse(%q) = %q, %v; want it unchanged", c.Email, got, err)
		}
	}
}

// TestGeneratorsNeverRepeatIDs generates the same people (the same start)
// into two domains and again into the first, as seeding several domains
// does: no customer or device id may repeat.
func TestGeneratorsNeverRepeatIDs(t *testing.T) {
	seen := map[string]bool{}
	for _, domainID := range []string{"acme", "globex", "acme"} {
		g := NewGenerator(domains.Domain{ID: domainID, DefaultRegion: "US"}, "hash", 0, time.Now())
		for range 300 {
			c, ds := g.Next()
			ids := []string{c.ID}
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("id %s generated twice", id)
				}
				seen[id] = true
			}
		}
	}
}

// TestGeneratorIsDeterministic checks that the same start gives the same
// people.
func TestGeneratorIsDeterministic(t *testing.T) {
	at := time.Now()
	a := NewGenerator(domains.Domain{ID: "acme", DefaultRegion: "US"}, "hash", 7, at)
	b := NewGenerator(domains.Domain{ID: "acme", DefaultRegion: "US"}, "hash", 7, at)
	for range 50 {
		ca, da := a.Next()
		cb, db := b.Next()
		if ca.Email != cb.Email || ca.FirstName != cb.FirstName || ca.Phone != cb.Phone || len(da) != len(db) {
			t.Fatalf("the same start gave %+v and %+v", ca, cb)
		}
	}
}

// TestGeneratedDevicesHaveSerialNumbersAndMACs checks that every generated
// device has a serial number and a MAC address in the form the rules store
// (devices.ParseSerial, devices.ParseMAC), and that no serial number repeats
// in a domain, across runs that continue one another as seeding does.
func TestGeneratedDevicesHaveSerialNumbersAndMACs(t *testing.T) {
	d := domains.Domain{ID: "acme", DefaultRegion: "US"}
	serials, macs := map[string]bool{}, map[string]bool{}
	n := 0
	for _, start := range []int{0, 1500} {
		g := NewGenerator(d, "hash", start, time.Now())
		for range 1500 {
			_, ds := g.Next()
			for _, dev := range ds {
				n++
				if got, err := devices.ParseSerial(dev.SerialNumber); err != nil || got != dev.SerialNumber {
					t.Fatalf("serial number %q: ParseSerial gives %q, %v", dev.SerialNumber, got, err)
				}
				if got, err := devices.ParseMAC(dev.MACAddress); err != nil || got != dev.MACAddress || got == "" {
					t.Fatalf("MAC address %q: ParseMAC gives %q, %v", dev.MACAddress, got, err)
				}
				if !strings.HasPrefix(dev.SerialNumber, devices.ModelPrefix(dev.Model)+"-") {
					t.Fatalf("serial number %q of a %s", dev.SerialNumber, dev.Model)
				}
				if serials[dev.SerialNumber] || macs[dev.MACAddress] {
					t.Fatalf("serial number %s or MAC address %s generated twice", dev.SerialNumber, dev.MACAddress)
				}
				serials[dev.SerialNumber], macs[dev.MACAddress] = true, true
			}
		}
	}
	if n < 3000 {
		t.Fatalf("only %d devices", n)
	}
}
