package devices

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
)

// oneDevice is an honest Store holding one device; it counts updates.
type oneDevice struct {
	d       Device
	updates int
}

func (s *oneDevice) InsertDevices(context.Context, []Device) error { return nil }
func (s *oneDevice) DevicesByCustomer(context.Context, string) ([]Device, error) {
	return []Device{s.d}, nil
}
func (s *oneDevice) DeviceByID(_ context.Context, id string) (Device, error) {
	if id != s.d.ID {
		return Device{}, apperr.ErrNotFound
	}
	return s.d, nil
}
func (s *oneDevice) UpdateDevice(_ context.Context, d Device, _ audit.Record) error {
	s.d = d
	s.updates++
	return nil
}

func TestUpdateCleansNames(t *testing.T) {
	st := &oneDevice{d: Device{ID: "dev", DomainID: "dom", CustomerID: "cus", Name: "Hall"}}
	svc := NewService(st, time.Now)
	actor := audit.Actor{DomainID: "dom"}
	rename := func(name string) (Device, error) {
		return svc.Update(context.Background(), actor, "cus", "dev", Change{Name: &name})
	}
	for _, name := range []string{"Hall\u202e", "\u2066Hall\u2069", "Hall\x00", "Hall\n", "Hall\t", "Hall\u0085", "Hall\xff", " ", strings.Repeat("a", MaxNameLength+1)} {
		var ve *apperr.ValidationError
		if _, err := rename(name); !errors.As(err, &ve) || ve.Field != "name" {
			t.Errorf("rename to %q: %v, want a ValidationError on name", name, err)
		}
	}
	if st.updates != 0 || st.d.Name != "Hall" {
		t.Fatalf("refused renames reached the store: %d updates, name %q", st.updates, st.d.Name)
	}
	if d, err := rename(" Cafe\u0301 "); err != nil || d.Name != "Caf\u00e9" || st.d.Name != "Caf\u00e9" {
		t.Fatalf("rename to a decomposed name: %+v, %v; stored %q; want %q", d, err, st.d.Name, "Caf\u00e9")
	}
}
