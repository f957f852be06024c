// Package mews is the gateway's link to the Mews PMS through the Mews
// Connector API (pms.protocol: mews): it reads the rooms and the guests in
// house by polling, posts each call as an order with one item carrying the
// posting's reference as ExternalIdentifier, and looks a posting whose
// answer was lost up by that reference (gateway.CapabilityLookup). The
// wire, the configuration, the rate limit and the choices made where the
// API's documentation is silent are in docs/pms-mews.md.
package mews
