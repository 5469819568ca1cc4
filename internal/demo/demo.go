// Package demo generates realistic, deterministic customers and devices and
// writes them to a store: the demo domain of a fresh embedded store (Ensure),
// and any number of customers for load tests and the seed command (Seed,
// Insert). The same start always gives the same people (names, emails, phones,
// devices); their ids are new every time (ids.New), like every other stored
// object's, so that generated customers never collide with the customers of
// another domain, another run or anything else in the store.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
)

var firstNames = []string{
	"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
	"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
	"José", "María", "Zoë", "Chloé", "Björn", "Siobhán", "Łukasz", "François", "Renée", "Søren",
	"Jürgen", "Ángel", "Inês", "Nuñez", "Anaïs", "Dominique", "Mei", "Hiroshi", "Aarav", "Fatima",
	"Oluwaseun", "Nguyễn Văn", "Jean-Luc", "Mary-Kate", "Ève", "Ólafur", "Çağla", "Dvořák", "Žofia", "Ines",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"O'Brien", "O'Connor", "D'Angelo", "Müller", "García", "Nguyễn", "Kowalski", "Østergaard", "van der Berg", "Le Blanc",
	"Schröder", "Fernández", "Çelik", "Dubois", "Lefèvre", "MacDonald", "St. John", "Smith-Jones", "Yılmaz", "Papadopoulos",
	"Novák", "Håkansson", "Ó Súilleabháin", "Jørgensen", "Weiß", "Peña", "Łopata", "Nakamura", "Okafor", "Zhang",
}

var emailDomains = []string{"example.com", "mail.example.org", "inbox.test", "home.example.net", "company.example"}

var deviceModels = []string{"Thermostat T-100", "Thermostat T-200", "Air Purifier A1", "Smart Plug P3", "Heat Pump HP-9", "Boiler Link B2"}
var deviceNames = []string{"Living room", "Kitchen", "Bedroom", "Office", "Hallway", "Basement", "Nursery", "Garage"}
var modes = []devices.Mode{devices.ModeOff, devices.ModeHeat, devices.ModeCool, devices.ModeAuto, devices.ModeEco}

// Generator makes customers of one domain, numbered from a start index so
// that emails stay unique across runs that continue one another.
type Generator struct {
	rng          *rand.Rand
	domain       domains.Domain
	passwordHash string
	now          time.Time
	next         int
}

// NewGenerator returns a Generator whose customers all get passwordHash (one
// hash for all: hashing millions of passwords would take hours) and are
// numbered from start.
func NewGenerator(d domains.Domain, passwordHash string, start int, now time.Time) *Generator {
	return &Generator{
		rng:          rand.New(rand.NewPCG(uint64(start), 0x10C0)),
		domain:       d,
		passwordHash: passwordHash,
		now:          now.UTC().Truncate(time.Millisecond),
		next:         start,
	}
}

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// emailLocal returns an ASCII local part for a name: accents dropped, spaces
// and apostrophes removed.
func emailLocal(name string) string {
	var b strings.Builder
	for _, r := range customers.Fold(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}

// phone writes a number in one of several national and international styles.
func (g *Generator) phone() string {
	area, exchange, line := 200+g.rng.IntN(800), 200+g.rng.IntN(800), g.rng.IntN(10000)
	switch g.rng.IntN(8) {
	case 0:
		return fmt.Sprintf("+1 (%03d) %03d-%04d", area, exchange, line)
	case 1:
		return fmt.Sprintf("%03d-%03d-%04d", area, exchange, line)
	case 2:
		return fmt.Sprintf("%03d%03d%04d", area, exchange, line)
	case 3:
		return fmt.Sprintf("+1.%03d.%03d.%04d", area, exchange, line)
	case 4:
		return fmt.Sprintf("+44 20 7946 %04d", line)
	case 5:
		return fmt.Sprintf("+49 30 %04d %04d", exchange*10+g.rng.IntN(10), line)
	case 6:
		return fmt.Sprintf("+33 1 %02d %02d %02d %02d", g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100))
	default:
		return "" // some customers never gave a number
	}
}

// Next returns the next customer and its devices (zero to three).
func (g *Generator) Next() (customers.Customer, []devices.Device) {
	n := g.next
	g.next++
	first, last := g.pick(firstNames), g.pick(lastNames)
	created := g.now.Add(-time.Duration(g.rng.IntN(3*365*24)) * time.Hour)
	status := customers.StatusActive
	if g.rng.IntN(100) < 4 {
		status = customers.StatusDisabled
	}
	c := customers.Customer{
		ID: ids.New(), DomainID: g.domain.ID, FirstName: first, LastName: last,
		Email: fmt.Sprintf("%s.%s%d@%s", emailLocal(first), emailLocal(last), n, g.pick(emailDomains)),
		Phone: g.phone(), PhoneRegion: g.domain.DefaultRegion,
		Status: status, PasswordHash: g.passwordHash, Version: 1, CreatedAt: created, UpdatedAt: created,
	}
	ds := make([]devices.Device, g.rng.IntN(MaxDevices+1))
	for i := range ds {
		ds[i] = devices.Device{
			ID: ids.New(), DomainID: g.domain.ID, CustomerID: c.ID, Name: deviceNames[(n+i)%len(deviceNames)], Model: g.pick(deviceModels),
			Online: g.rng.IntN(10) < 8,
			Settings: devices.Settings{
				TargetTemperature: 16 + float64(g.rng.IntN(17))/2, Mode: modes[g.rng.IntN(len(modes))], Notifications: g.rng.IntN(2) == 0,
			},
			CreatedAt: created, UpdatedAt: created,
		}
		seq := MaxDevices*n + i
		ds[i].SerialNumber, ds[i].MACAddress = serialNumber(ds[i].Model, created.Year(), seq), macAddress(seq)
	}
	c.SearchTokens = customers.SearchTokens(c, ds, g.domain.DefaultRegion)
	return c, ds
}

// MaxDevices is the most devices Next gives one customer.
const MaxDevices = 3

// serialNumber returns the serial number of the seq-th device the generators
// of a domain make, as a manufacturer prints them: the model's prefix
// (devices.ModelPrefix), the year it was made and the sequence number, such as
// "T100-2024-0001234". The sequence numbers of a domain never repeat (the
// customer's number times MaxDevices, plus the device's place among its
// devices), so neither do its serial numbers.
func serialNumber(model string, year, seq int) string {
	return fmt.Sprintf("%s-%d-%07d", devices.ModelPrefix(model), year, seq)
}

// macAddress returns the MAC address of the seq-th device: a locally
// administered prefix (02:10:C0, so it can be no real manufacturer's) and 24
// bits of seq times an odd number, which are different for every seq below
// 2^24 and do not look sequential.
func macAddress(seq int) string {
	x := uint32(seq) * 0x9E3779B1 & 0xFFFFFF
	return fmt.Sprintf("02:10:C0:%02X:%02X:%02X", x>>16, x>>8&0xFF, x&0xFF)
}
