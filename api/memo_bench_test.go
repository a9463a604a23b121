package api

import "testing"

var benchItem = []byte(`{"id":"c0ffee00000000000000000000000001","activated":true,"device":{"id":"dev-000001","serial_number":"MC1000-000001","type":"MANAGED"},"interrupt_window_days_of_week":["Saturday","Sunday"],"interrupt_window_hour_of_day":1,"interrupt_window_duration_hours":2,"interrupt_window_embargo_dates":["2026-12-24","2026-12-31"],"last_heartbeat":"2026-12-02T13:17:01.123456789Z","last_seen_version":"2026.10.2","last_updated":"2026-11-24T11:59:00Z","notes":"Branch 1 - America/New_York store","primary":true,"site_id":"site-000000","timezone":"America/New_York"},{"id":`)

func BenchmarkObjectAhead(b *testing.B) {
	for b.Loop() {
		if objectAhead(benchItem) == nil {
			b.Fatal("no object")
		}
	}
}

func BenchmarkVolatileSpan(b *testing.B) {
	for b.Loop() {
		if _, _, found, ok := volatileSpan(benchItem, "last_heartbeat"); !found || !ok {
			b.Fatal("no heartbeat")
		}
	}
}
