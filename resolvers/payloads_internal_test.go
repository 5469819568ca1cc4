package resolvers

import (
	"testing"

	"github.com/iotconsole/bff/internal/devices"
)

// A device's serial number is always shown; its MAC address is null when it
// has none, never "".
func TestMapDeviceSerialNumberAndMAC(t *testing.T) {
	for _, mac := range []string{"02:10:C0:00:4A:11", ""} {
		got := mapDevice(devices.Device{ID: "d1", SerialNumber: "T100-2024-0000042", MACAddress: mac})
		shown := "null"
		if got.MacAddress != nil {
			shown = *got.MacAddress
		}
		if want := map[bool]string{true: "null", false: mac}[mac == ""]; got.SerialNumber != "T100-2024-0000042" || shown != want {
			t.Errorf("mapDevice with MAC %q: serial number %q, MAC address %s; want %s", mac, got.SerialNumber, shown, want)
		}
	}
}
