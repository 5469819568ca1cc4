package imports

import (
	"cmp"
	"context"
	"io"
	"slices"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
)

// ExportStore is what an export reads; both store backends implement it.
type ExportStore interface {
	// CustomersAfter returns up to limit customers of the domain whose ids
	// sort after afterID, in id order.
	CustomersAfter(ctx context.Context, domainID, afterID string, limit int) ([]customers.Customer, error)
	// DevicesOfCustomers returns the devices of the customers ids.
	DevicesOfCustomers(ctx context.Context, ids []string) ([]devices.Device, error)
	// MostDevicesOfACustomer returns the largest number of devices one
	// customer of the domain has (0 for none).
	MostDevicesOfACustomer(ctx context.Context, domainID string) (int, error)
}

// exportPage is the customers read at once: a page and its devices are in
// memory, never the whole domain.
const exportPage = 1000

// Export writes every customer of domain d with its devices to w in format
// f (the import format: importing the file into an empty store gives the
// same customers), in id order, and returns how many. Password hashes are
// written only withHashes. CSV gets as many device column groups as the
// customer with most devices needs. It stops at the first error of the
// store, of w or of ctx.
func Export(ctx context.Context, st ExportStore, d domains.Domain, w io.Writer, f Format, withHashes bool) (int, error) {
	most, err := st.MostDevicesOfACustomer(ctx, d.ID)
	if err != nil {
		return 0, err
	}
	out, err := NewWriter(w, f, Columns(most))
	if err != nil {
		return 0, err
	}
	n, after := 0, ""
	for {
		page, err := st.CustomersAfter(ctx, d.ID, after, exportPage)
		if err != nil || len(page) == 0 {
			if err == nil {
				err = out.Flush()
			}
			return n, err
		}
		ids := make([]string, len(page))
		for i, c := range page {
			ids[i] = c.ID
		}
		ds, err := st.DevicesOfCustomers(ctx, ids)
		if err != nil {
			return n, err
		}
		owned := map[string][]devices.Device{}
		for _, dev := range ds {
			owned[dev.CustomerID] = append(owned[dev.CustomerID], dev)
		}
		for _, c := range page {
			if err := out.Write(RecordOf(c, owned[c.ID], withHashes), 0, ""); err != nil {
				return n, err
			}
			n++
		}
		after = page[len(page)-1].ID
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
}

// recordOf is c with its devices as a file holds them.
func RecordOf(c customers.Customer, ds []devices.Device, withHash bool) Record {
	rec := Record{ExternalID: c.ExternalID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phone,
		PhoneRegion: c.PhoneRegion, Status: string(c.Status), CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if withHash {
		rec.PasswordHash = HashText(c.PasswordHash)
	}
	slices.SortFunc(ds, func(a, b devices.Device) int { return cmp.Compare(a.SerialNumber, b.SerialNumber) })
	for _, d := range ds {
		rec.Devices = append(rec.Devices, Device{SerialNumber: d.SerialNumber, MACAddress: d.MACAddress, Name: d.Name, Model: d.Model})
	}
	return rec
}
