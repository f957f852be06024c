package main

import (
	"context"
	"slices"
	"strings"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
	"callgate/tariff"
)

// centralReport runs a report over the central's entries of one property,
// a list, or every property (--all): gateway/report's own code over the
// entries the central holds, as `gateway report` runs it over a journal.
// Dates are each call's local dates; the report's clock hours are in the
// property's zone, or UTC over properties in several zones.
func centralReport(ctx context.Context, a *app, r report.Report, path, properties string, all bool, from, to, format, out string) error {
	if (properties == "") == !all {
		return usageError{"a central report needs --property P (or A,B) or --all"}
	}
	if r.Name == "carriers" {
		return usageError{"the carriers report re-rates under a property's tariffs: run it at the property"}
	}
	f, err := outputFormat(format, out, a.stdout)
	if err != nil {
		return err
	}
	o := report.Options{MinorDigits: tariff.MinorDigits}
	if o.From, o.To, err = reportDates(from, to); err != nil {
		return err
	}
	_, s, err := openCentral(ctx, a, path)
	if err != nil {
		return err
	}
	defer s.Close()
	ps, err := s.Properties(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range ps {
		if all || slices.Contains(strings.Split(properties, ","), p.Name) {
			names = append(names, p.Name)
		}
	}
	if !all {
		for _, want := range strings.Split(properties, ",") {
			if !slices.Contains(names, want) {
				return gateway.Errorf(gateway.KindNotFound, "there is no property %q at the central (see gateway central property list)", want)
			}
		}
	}
	if err := o.Check(); err != nil {
		return usageError{err.Error()}
	}
	var list []string
	if !all {
		list = names
	}
	// The chain console's code: gateway/report over the central's entries,
	// the busy-hour reports' traffic folded in SQL.
	t, err := console.ChainReport(ctx, chainStore{s}, r, list, o)
	if err != nil {
		return err
	}
	return render.WriteOutput(a.stdout, out, t, f)
}
