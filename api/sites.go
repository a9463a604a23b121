package api

import "context"

// EndpointSites is the sites list endpoint, as named in errors, RequestInfo
// and metric labels.
const EndpointSites = "sites"

// Site is a Magic WAN site: a branch office or data centre, served by one
// connector, or two when it runs a high-availability pair.
type Site struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// ConnectorID is the site's (primary) connector; empty when none.
	ConnectorID string `json:"connector_id"`
	// SecondaryConnectorID is the second connector of an HA site.
	SecondaryConnectorID string `json:"secondary_connector_id"`
	// HAMode is true when the site runs two connectors, one active.
	HAMode   bool      `json:"ha_mode"`
	Location *Location `json:"location,omitempty"`
}

// Location is where a site is; the API sends the coordinates as strings,
// kept as they came.
type Location struct {
	Lat string `json:"lat"`
	Lon string `json:"lon"`
}

// ConnectorIDs returns the connectors the site names, primary first.
func (s *Site) ConnectorIDs() []string {
	var ids []string
	for _, id := range []string{s.ConnectorID, s.SecondaryConnectorID} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// ListSites returns the account's Magic WAN sites
// (GET /accounts/{account_id}/magic/sites, one page).
func (c *Client) ListSites(ctx context.Context, accountID string) ([]Site, error) {
	sites, err := get[list[Site]](ctx, c, EndpointSites, accountPath(accountID, "/magic/sites"))
	return sites.items, err
}
