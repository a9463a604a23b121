package collector

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// scrapeConnectors lists the account's connectors and emits their series.
func (e *Exporter) scrapeConnectors(ctx context.Context, accountID string, ch chan<- prometheus.Metric) (scrapeResult, error) {
	o := e.connectorsFetch.fetch(ctx, accountID, func(ctx context.Context) ([]api.Connector, error) {
		return e.client.ListConnectors(ctx, accountID)
	})
	if o.err != nil {
		return resultOf(o), fmt.Errorf("list connectors for account %s: %w", accountID, o.err)
	}
	connectors := o.result
	if e.telemetry != nil {
		e.telemetry.SetConnectors(accountID, connectors)
	}
	now := e.now()
	for i := range connectors {
		c := &connectors[i]
		var deviceID, serial, deviceType string
		if c.Device != nil {
			deviceID, serial, deviceType = c.Device.ID, c.Device.SerialNumber, c.Device.Type
		}
		send(ch, e.connectorInfo, 1, accountID, c.ID, deviceID, serial, deviceType, c.SiteID, c.LastSeenVersion, c.Timezone, c.Notes)
		send(ch, e.connectorActivated, boolToFloat(c.Activated), accountID, c.ID)
		send(ch, e.connectorPrimary, boolToFloat(c.Primary), accountID, c.ID)
		if !c.LastHeartbeat.IsZero() {
			send(ch, e.connectorLastHeartbeat, unixSeconds(c.LastHeartbeat), accountID, c.ID)
			// A heartbeat stamped ahead of our clock is "just now", not
			// a negative age.
			send(ch, e.connectorHeartbeatAge, max(now.Sub(c.LastHeartbeat).Seconds(), 0), accountID, c.ID)
		}
		if !c.LastUpdated.IsZero() {
			send(ch, e.connectorLastUpdated, unixSeconds(c.LastUpdated), accountID, c.ID)
		}
		e.emitWindow(ch, accountID, c, now)
	}
	e.emitConfigErrors(ch, accountID, connectors)
	return resultOf(o), nil
}
