package resolvers

import (
	"time"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/exports"
)

// exportFormat names the shape of dataExport's document (described in
// schema/profile.graphqls); a change of shape is a new name.
const exportFormat = "iotconsole.customer-export.v1"

// exportDocument is dataExport's JSON document.
type exportDocument struct {
	Format           string           `json:"format"`
	ExportedAt       time.Time        `json:"exportedAt"`
	Customer         exportCustomer   `json:"customer"`
	Devices          []exportDevice   `json:"devices"`
	Activity         []exportActivity `json:"activity"`
	ActivityComplete bool             `json:"activityComplete"`
}

type exportCustomer struct {
	ID        string    `json:"id"`
	FirstName string    `json:"firstName"`
	LastName  string    `json:"lastName"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type exportDevice struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Model        string               `json:"model"`
	SerialNumber string               `json:"serialNumber"`
	MACAddress   *string              `json:"macAddress"`
	Online       bool                 `json:"online"`
	Settings     model.DeviceSettings `json:"settings"`
}

type exportActivity struct {
	At      time.Time `json:"at"`
	Action  string    `json:"action"`
	By      string    `json:"by"`
	Outcome string    `json:"outcome"`
}

// mapExport shows an export the way the API shows each of its parts: global
// ids, devices as `devices` and activity as `activity` map them.
func mapExport(e exports.Export, admin func(operatorID string) bool) exportDocument {
	c := mapCustomer(e.Customer)
	doc := exportDocument{
		Format: exportFormat, ExportedAt: e.At.UTC(), ActivityComplete: e.ActivityComplete,
		Customer: exportCustomer{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phone,
			Status: string(c.Status), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()},
		Devices:  make([]exportDevice, len(e.Devices)),
		Activity: make([]exportActivity, len(e.Activity)),
	}
	for i, d := range e.Devices {
		m := mapDevice(d)
		doc.Devices[i] = exportDevice{ID: m.ID, Name: m.Name, Model: m.Model, SerialNumber: m.SerialNumber, MACAddress: m.MacAddress,
			Online: m.Online, Settings: *m.Settings}
	}
	for i, rec := range e.Activity {
		a := mapActivity(rec, admin)
		doc.Activity[i] = exportActivity{At: a.At.UTC(), Action: a.Action, By: string(a.By), Outcome: a.Outcome}
	}
	return doc
}
