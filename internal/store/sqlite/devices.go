package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/events"
)

// The functions the migration that added serial numbers and MAC addresses
// calls to backfill the devices stored before (devices.BackfillSerial and
// devices.BackfillMAC, the rules the MongoDB store applies too), registered
// for every connection this package opens.
func init() {
	for _, f := range []struct {
		name  string
		nArgs int32
		fn    func(args []string) string
	}{
		{"backfill_device_serial", 2, func(args []string) string { return devices.BackfillSerial(args[0], args[1]) }},
		{"backfill_device_mac", 1, func(args []string) string { return devices.BackfillMAC(args[0]) }},
	} {
		err := sqlite.RegisterDeterministicScalarFunction(f.name, f.nArgs, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			texts := make([]string, len(args))
			for i, a := range args {
				s, ok := a.(string)
				if !ok {
					return nil, fmt.Errorf("%s: argument %d is %T, not text", f.name, i+1, a)
				}
				texts[i] = s
			}
			return f.fn(texts), nil
		})
		if err != nil {
			panic(err)
		}
	}
}

// InsertDevices implements devices.Store: all or none are stored, each
// customer's search row derived again with them (reindexOwners).
func (s *Store) InsertDevices(ctx context.Context, ds []devices.Device) error {
	err := s.inTx(ctx, func(plain *sql.Tx) error {
		tx := newBulkTx(plain)
		defer tx.close()
		if err := insertDevices(ctx, tx, ds); err != nil {
			return err
		}
		return reindexOwners(ctx, tx, ds)
	})
	if err != nil {
		return fmt.Errorf("insert devices: %w", mapErr(err))
	}
	return nil
}

// deviceInsert writes devices' rows, the values deviceRow gives, each under
// its customer's number (customers.rid, migration 22): the one given (the
// third value), or, when that is NULL, the one found by the customer's id
// (the fourth).
var deviceInsert = rowInsert{
	into: `INSERT INTO devices (id, domain_number, customer_rid, name, model, serial_number, mac_address,
	online, target_temperature, mode, notifications, created_at, updated_at)`,
	row:   "(?, ?, COALESCE(?, (SELECT rid FROM customers WHERE id = ?)), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	width: 14,
}

// deviceRow returns the values of d's row for deviceInsert, in the domain
// numbered domain: under the customer numbered customerRID when it is
// valid, else under the one d.CustomerID names.
func deviceRow(d devices.Device, domain int64, customerRID sql.NullInt64) []any {
	var customerID any // looked up only without customerRID
	if !customerRID.Valid {
		customerID = idKey(d.CustomerID)
	}
	return []any{idKey(d.ID), domain, customerRID, customerID, d.Name, d.Model, d.SerialNumber, macKey(d.MACAddress),
		d.Online, d.Settings.TargetTemperature, enumKey(d.Settings.Mode, deviceModes), d.Settings.Notifications, millis(d.CreatedAt), millis(d.UpdatedAt)}
}

// insertDevices writes ds in tx (writeDevices) and moves their domains'
// search versions: what a search matched reads devices.
func insertDevices(ctx context.Context, tx writer, ds []devices.Device) error {
	if err := writeDevices(ctx, tx, ds, sql.NullInt64{}, domainNumbers{}); err != nil {
		return err
	}
	domainIDs := map[string]bool{}
	for _, d := range ds {
		domainIDs[d.DomainID] = true
	}
	for id := range domainIDs {
		if err := bumpSearchVersion(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// writeDevices writes ds in tx (a bulkTx prepares the statement once), the
// devices of the customer numbered customerRID when it is given (a bulk
// load that has just written the customer: no lookup a device), else of
// the customers their CustomerID names; the caller moves their domains'
// search versions.
func writeDevices(ctx context.Context, tx writer, ds []devices.Device, customerRID sql.NullInt64, numbers domainNumbers) error {
	values := make([]any, 0, len(ds)*deviceInsert.width)
	for _, d := range ds {
		domain, err := numbers.of(ctx, tx, d.DomainID)
		if err != nil {
			return err
		}
		values = append(values, deviceRow(d, domain, customerRID)...)
	}
	_, err := deviceInsert.write(ctx, tx, values)
	return err
}

// deviceColumns are what scanDevice reads, from devicesWithCustomers: a
// device names its customer by number (migration 22), its id is the
// customer's.
const (
	deviceColumns = `d.id, dm.id, c.id, d.name, d.model, d.serial_number, d.mac_address, d.online, d.target_temperature, d.mode,
	d.notifications, d.created_at, d.updated_at`
	devicesWithCustomers = `devices d JOIN customers c ON c.rid = d.customer_rid JOIN domains dm ON dm.number = d.domain_number`
)

func scanDevice(row interface{ Scan(...any) error }) (devices.Device, error) {
	var d devices.Device
	var created, updated int64
	if err := row.Scan(idScan(&d.ID), &d.DomainID, idScan(&d.CustomerID), &d.Name, &d.Model, &d.SerialNumber, macScan(&d.MACAddress), &d.Online,
		&d.Settings.TargetTemperature, enumScan(&d.Settings.Mode, deviceModes), &d.Settings.Notifications, &created, &updated); err != nil {
		return devices.Device{}, mapErr(err)
	}
	d.CreatedAt, d.UpdatedAt = fromMillis(created), fromMillis(updated)
	return d, nil
}

// DevicesByCustomer implements devices.Store.
func (s *Store) DevicesByCustomer(ctx context.Context, customerID string) ([]devices.Device, error) {
	stmt, err := s.readStmt(ctx, `SELECT `+deviceColumns+` FROM `+devicesWithCustomers+` WHERE c.id = ? ORDER BY d.name, d.id`)
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", customerID, mapErr(err))
	}
	rows, err := stmt.QueryContext(ctx, idKey(customerID))
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", customerID, mapErr(err))
	}
	defer rows.Close()
	var out []devices.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("devices of %s: %w", customerID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("devices of %s: %w", customerID, mapErr(err))
	}
	return out, nil
}

// DeviceByID implements devices.Store.
func (s *Store) DeviceByID(ctx context.Context, id string) (devices.Device, error) {
	stmt, err := s.readStmt(ctx, `SELECT `+deviceColumns+` FROM `+devicesWithCustomers+` WHERE d.id = ?`)
	if err != nil {
		return devices.Device{}, fmt.Errorf("device %s: %w", id, mapErr(err))
	}
	d, err := scanDevice(stmt.QueryRowContext(ctx, idKey(id)))
	if err != nil {
		return devices.Device{}, fmt.Errorf("device %s: %w", id, err)
	}
	return d, nil
}

// UpdateDevice implements devices.Store.
func (s *Store) UpdateDevice(ctx context.Context, d devices.Device, rec audit.Record, evs ...events.Event) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET name = ?, target_temperature = ?, mode = ?, notifications = ?, updated_at = ?
			WHERE id = ?`, d.Name, d.Settings.TargetTemperature, enumKey(d.Settings.Mode, deviceModes), d.Settings.Notifications, millis(d.UpdatedAt), idKey(d.ID))
		if err != nil {
			return err
		}
		if err := noneChanged(res, sql.ErrNoRows); err != nil {
			return err
		}
		return writeRecords(ctx, tx, rec, evs...)
	})
	if err != nil {
		return fmt.Errorf("update device %s: %w", d.ID, mapErr(err))
	}
	return nil
}
