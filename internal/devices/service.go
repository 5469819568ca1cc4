package devices

import (
	"context"
	"slices"
)

// Service reads and changes devices.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store}
}

// OfCustomer returns the devices customerID owns in domainID, by name.
func (s *Service) OfCustomer(ctx context.Context, domainID, customerID string) ([]Device, error) {
	ds, err := s.store.DevicesByCustomer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ds, func(d Device) bool { return d.DomainID != domainID }), nil
}
