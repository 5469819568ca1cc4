package main

import (
	"net/http"
	"testing"
)

// Go's profiles are served only when asked, and only on the metrics
// listener: never on the service's public port.
func TestProfilesOnlyOnTheMetricsListenerWhenAsked(t *testing.T) {
	cfg, err := parseConfig(nil, func(string) string { return "" }, nil)
	if err != nil || cfg.Profiling {
		t.Fatalf("PROFILING is on by default (%v)", err)
	}
	if _, err := parseConfig(nil, func(k string) string {
		if k == "PROFILING" {
			return "maybe"
		}
		return ""
	}, nil); err == nil {
		t.Fatal("PROFILING=maybe accepted")
	}
	for _, on := range []bool{false, true} {
		s := startTest(t, func(c *config) { c.MetricsAddr = "127.0.0.1:0"; c.Profiling = on })
		metrics := "http://" + s.metricsListener.Addr().String()
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		if code, _ := get(t, metrics+"/debug/pprof/"); code != want {
			t.Errorf("profiling %v: metrics listener /debug/pprof/ answered %d, want %d", on, code, want)
		}
		if code, _ := get(t, metrics+"/debug/pprof/profile?seconds=1"); code != want {
			t.Errorf("profiling %v: CPU profile answered %d, want %d", on, code, want)
		}
		if code, _ := get(t, s.URL()+"/debug/pprof/"); code != http.StatusNotFound {
			t.Errorf("profiling %v: the public listener answered /debug/pprof/ with %d", on, code)
		}
	}
}
