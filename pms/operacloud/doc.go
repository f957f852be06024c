// Package operacloud is the PMS link to Oracle OPERA Cloud through OHIP
// (pms.protocol opera-cloud): it polls the in-house reservations into
// guest events, posts each call with postBillingCharges carrying the
// posting's reference, and looks a posting whose answer was lost up by
// that reference (capability lookup). The simulator of the OHIP operations
// it uses is in package sim. See docs/pms-operacloud.md.
package operacloud
