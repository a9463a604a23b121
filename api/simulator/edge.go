package simulator

import (
	"fmt"
	"time"
)

// Edge is an account's edge view: what Cloudflare's GraphQL Analytics API
// knows of its tunnels and connectors. The same values hold in every
// five-minute bucket, so the data is live on the server's clock without
// being stored per bucket.
type Edge struct {
	Tunnels    []EdgeTunnel
	Connectors []EdgeConnector
	Events     []EdgeEvent
}

// EdgeTunnel is a tunnel as Cloudflare's data centres health-check it and
// count its traffic.
type EdgeTunnel struct {
	Name string
	// Site is the name of the Magic WAN site the tunnel belongs to.
	Site string
	// Colos are the data centres (IATA codes) that health-check the
	// tunnel.
	Colos []string
	// State is the tunnel state seen from each colo, in Colos' order: 0
	// down, 0.5 degraded, 1 healthy. Nil means healthy everywhere.
	State []float64
	// Active says, in Colos' order, which data centres carried the
	// tunnel's traffic in the last six hours (route it). Nil means all.
	Active []bool
	// IngressBitRate is the inbound traffic (from Cloudflare to the site
	// through the tunnel), EgressBitRate the outbound, in bits per second.
	IngressBitRate, EgressBitRate float64
	// LateralBitRate is traffic that enters through the tunnel for the
	// tunnel LateralTo (site to site).
	LateralBitRate float64
	LateralTo      string
}

// coloNames are the data centres' names (edgeColoName), by IATA code
// (edgeColoCode).
var coloNames = map[string]string{
	"LHR": "London", "MAN": "Manchester", "AMS": "Amsterdam", "FRA": "Frankfurt",
	"EWR": "Newark", "IAD": "Ashburn", "ORD": "Chicago", "DFW": "Dallas", "IAH": "Houston",
	"SIN": "Singapore", "HKG": "Hong Kong", "NRT": "Tokyo", "SJC": "San Jose", "LAX": "Los Angeles", "SEA": "Seattle",
}

// EdgeConnector is a connector's telemetry as the mconnTelemetry* datasets
// aggregate it.
type EdgeConnector struct {
	ID                                     string
	CPUCount, Load1, Load5                 float64
	MemoryTotalBytes, MemoryAvailableBytes float64
	MemoryFreeBytes                        float64
	HAState                                float64
	Mounts                                 []EdgeMount
	Thermals                               []EdgeThermal
	Tunnels                                []EdgeConnectorTunnel
	// LastSeen, when set, is when the connector stopped sending telemetry:
	// no bucket after it holds its rows.
	LastSeen time.Time
}

// EdgeMount is a filesystem of a connector.
type EdgeMount struct {
	MountPoint                 string
	AvailableBytes, TotalBytes float64
}

// EdgeThermal is a temperature sensor of a connector.
type EdgeThermal struct {
	Label                           string
	CurrentCelsius, CriticalCelsius float64
}

// EdgeConnectorTunnel is a connector's own view of one of its tunnels.
type EdgeConnectorTunnel struct {
	TunnelID, InterfaceName string
	// HealthValue is 0 unknown, 1 healthy, 2 degraded, 3 down.
	HealthValue float64
}

// EdgeEvent is a recurring lifecycle event: Count events of Type in every
// bucket that starts on a multiple of Every.
type EdgeEvent struct {
	ConnectorID, Type string
	Every             time.Duration
	Count             float64
}

// EdgeLag is how far the simulated analytics lag real time: the newest
// bucket served is the one holding now minus EdgeLag.
const EdgeLag = 2 * time.Minute

// The demo fleet's edge view that tests single out.
const (
	// TunnelDegraded is seen degraded (0.5) from MAN and AMS, which route
	// it, healthy from LHR, which does not.
	TunnelDegraded = "man-arndale-gre-1"
	// TunnelDown is down (0) from every data centre: the Berlin site's
	// connector stopped heartbeating.
	TunnelDown = "ber-alex-ipsec-1"
	// TunnelDownElsewhere is down from ORD only, a data centre that does
	// not route it: nothing to alert on.
	TunnelDownElsewhere = "nyc-5th-ipsec-2"
	// SiteNameBerlin is the Berlin site's name, whose only tunnel is down.
	SiteNameBerlin = "Berlin Alexanderplatz"
	// ConnectorHot runs at load 6.3 on 4 CPUs, its CPU at 92 °C of 105
	// critical (Cambridge).
	ConnectorHot = "c0ffee0000000000000000000000cab1"
	// ConnectorDiskFull has MountNearlyFull 96% used, 4% available
	// (Manchester), as in its REST snapshot.
	ConnectorDiskFull = "c0ffee00000000000000000000001161"
	MountNearlyFull   = "/data"
)

// demoEdge builds an account's edge view: connector telemetry from each
// activated connector's snapshot (the stale one's stopped when its
// heartbeat did), tunnels as given, and the hot connector made hot.
func demoEdge(start time.Time, connectors []Connector, tunnels []EdgeTunnel, events []EdgeEvent) *Edge {
	e := &Edge{Tunnels: tunnels, Events: events}
	for _, c := range connectors {
		s := c.Snapshot
		if !c.Activated || s == nil {
			continue
		}
		ec := EdgeConnector{
			ID:       c.ID,
			CPUCount: deref(s.CPUCount), Load1: deref(s.LoadAverage1m), Load5: deref(s.LoadAverage5m),
			MemoryTotalBytes: deref(s.MemoryTotalBytes), MemoryAvailableBytes: deref(s.MemoryAvailableBytes),
			MemoryFreeBytes: deref(s.MemoryAvailableBytes) * 0.6,
			HAState:         deref(s.HAValue),
		}
		if s.Every == 0 {
			ec.LastSeen = time.Unix(int64(s.T), 0).UTC()
		}
		for _, m := range s.Mounts {
			ec.Mounts = append(ec.Mounts, EdgeMount{MountPoint: m.MountPoint, AvailableBytes: deref(m.AvailableBytes), TotalBytes: deref(m.TotalBytes)})
		}
		for _, t := range s.Thermals {
			if t.CriticalCelcius == nil {
				// A sensor without a critical point would answer
				// null, which the client counts as a rejected row.
				continue
			}
			ec.Thermals = append(ec.Thermals, EdgeThermal{Label: t.Label, CurrentCelsius: deref(t.CurrentCelcius), CriticalCelsius: deref(t.CriticalCelcius)})
		}
		for _, t := range s.Tunnels {
			ec.Tunnels = append(ec.Tunnels, EdgeConnectorTunnel{TunnelID: t.TunnelID, InterfaceName: t.InterfaceName, HealthValue: t.HealthValue})
		}
		if c.ID == ConnectorHot {
			ec.Load1, ec.Load5 = 6.3, 5.8
			ec.Thermals[0].CurrentCelsius = 92
		}
		e.Connectors = append(e.Connectors, ec)
	}
	return e
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

var (
	colosEurope  = []string{"LHR", "MAN", "AMS"}
	colosGermany = []string{"FRA", "AMS", "LHR"}
	colosEast    = []string{"EWR", "IAD", "ORD"}
	colosSouth   = []string{"DFW", "IAH", "ORD"}
	colosAsia    = []string{"SIN", "HKG", "NRT"}
	colosWest    = []string{"SJC", "LAX", "SEA"}
)

func tunnel(name, site string, colos []string, ingress, egress float64, state ...float64) EdgeTunnel {
	return EdgeTunnel{Name: name, Site: site, Colos: colos, State: state, IngressBitRate: ingress, EgressBitRate: egress}
}

// routedBy says which of the tunnel's data centres route it.
func (t EdgeTunnel) routedBy(active ...bool) EdgeTunnel {
	t.Active = active
	return t
}

// demoRetailEdge and demoLabsEdge are the demo fleet's edge views.
func demoRetailEdge(start time.Time, connectors []Connector) *Edge {
	london := tunnel("lon-oxford-ipsec-1", "London Oxford Street", colosEurope, 4.2e7, 1.1e7)
	london.LateralBitRate, london.LateralTo = 3.1e6, "nyc-5th-ipsec-1"
	return demoEdge(start, connectors, []EdgeTunnel{
		london,
		tunnel("lon-oxford-ipsec-2", "London Oxford Street", colosEurope, 3.9e6, 1.2e6),
		tunnel("man-arndale-ipsec-1", "Manchester Arndale", colosEurope, 1.8e7, 6.5e6),
		tunnel(TunnelDegraded, "Manchester Arndale", colosEurope, 2.2e6, 7.1e5, 1, 0.5, 0.5).routedBy(false, true, true),
		tunnel("nyc-5th-ipsec-1", "New York 5th Avenue", colosEast, 6.1e7, 2.4e7),
		tunnel(TunnelDownElsewhere, "New York 5th Avenue", colosEast, 5.5e6, 1.9e6, 1, 1, 0).routedBy(true, true, false),
		tunnel(TunnelDown, SiteNameBerlin, colosGermany, 0, 0, 0, 0, 0).routedBy(true, false, false),
		tunnel("aus-dc-ipsec-1", "Austin distribution centre", colosSouth, 9.4e7, 3.3e7),
		tunnel("sin-marina-ipsec-1", "Singapore Marina Bay", colosAsia, 1.2e7, 4.4e6),
	}, []EdgeEvent{
		{ConnectorID: ConnectorOldVersion, Type: "Init", Every: 15 * time.Minute, Count: 1},
		{ConnectorID: ConnectorNoDevice, Type: "AttestationFailure", Every: 5 * time.Minute, Count: 2},
		{ConnectorID: ConnectorSecondary, Type: "KeyRotationSuccess", Every: 15 * time.Minute, Count: 1},
	})
}

func demoLabsEdge(start time.Time, connectors []Connector) *Edge {
	return demoEdge(start, connectors, []EdgeTunnel{
		tunnel("cam-lab-ipsec-1", "Cambridge lab", colosEurope, 2.7e8, 9.9e7),
		tunnel("sfo-lab-ipsec-1", "San Francisco lab", colosWest, 3.1e7, 1.4e7),
	}, nil)
}

// LargeEdge returns an edge view of the connectors with tunnels tunnels,
// each health-checked from three data centres: about one tunnel in a
// hundred degraded somewhere and one in five hundred down everywhere, one
// connector in a hundred hot and one in fifty with a nearly full disk.
// Values are shared between connectors where they can be, to keep it cheap.
func LargeEdge(connectors []Connector, tunnels int) *Edge {
	const gib = 1 << 30
	e := &Edge{Tunnels: make([]EdgeTunnel, tunnels), Connectors: make([]EdgeConnector, 0, len(connectors))}
	colos := [][]string{colosEurope, colosEast, colosSouth, colosAsia, colosWest, colosGermany}
	degradedState, downState := []float64{1, 0.5, 1}, []float64{0, 0, 0}
	for i := range e.Tunnels {
		t := EdgeTunnel{Name: fmt.Sprintf("tunnel-%06d", i), Site: fmt.Sprintf("site-%05d", i/2), Colos: colos[i%len(colos)],
			IngressBitRate: float64(1e6 + i%1000*1e4), EgressBitRate: float64(3e5 + i%700*1e3)}
		switch {
		case i%500 == 499:
			t.State, t.IngressBitRate, t.EgressBitRate = downState, 0, 0
		case i%100 == 42:
			t.State = degradedState
		}
		e.Tunnels[i] = t
	}
	mounts := []EdgeMount{{MountPoint: "/", AvailableBytes: 9.5 * gib, TotalBytes: 16 * gib}, {MountPoint: "/data", AvailableBytes: 40 * gib, TotalBytes: 64 * gib}}
	fullMounts := []EdgeMount{mounts[0], {MountPoint: "/data", AvailableBytes: 2.5 * gib, TotalBytes: 64 * gib}}
	thermals := []EdgeThermal{{Label: "cpu_thermal", CurrentCelsius: 51, CriticalCelsius: 105}, {Label: "nvme0", CurrentCelsius: 41, CriticalCelsius: 84.85}}
	hotThermals := []EdgeThermal{{Label: "cpu_thermal", CurrentCelsius: 93, CriticalCelsius: 105}, thermals[1]}
	for i, c := range connectors {
		if !c.Activated {
			continue
		}
		ec := EdgeConnector{ID: c.ID, CPUCount: 4, Load1: 0.4 + float64(i%20)/10, Load5: 0.35 + float64(i%20)/10,
			MemoryTotalBytes: 8 * gib, MemoryAvailableBytes: 5 * gib, MemoryFreeBytes: 3 * gib,
			Mounts: mounts, Thermals: thermals,
			Tunnels: []EdgeConnectorTunnel{
				{TunnelID: fmt.Sprintf("%032x", 2*i), InterfaceName: "xfrm1", HealthValue: 1},
				{TunnelID: fmt.Sprintf("%032x", 2*i+1), InterfaceName: "xfrm2", HealthValue: 1},
			}}
		if !c.Primary {
			ec.HAState = 2
		} else if i%10 == 8 {
			ec.HAState = 1
		}
		if i%100 == 7 {
			ec.Load1, ec.Load5, ec.Thermals = 7.5, 6.9, hotThermals
		}
		if i%50 == 11 {
			ec.Mounts = fullMounts
		}
		e.Connectors = append(e.Connectors, ec)
	}
	return e
}
