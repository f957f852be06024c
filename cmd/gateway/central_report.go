package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"callgate/gateway"
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
	zones := map[string]bool{}
	for _, p := range ps {
		if all || slices.Contains(strings.Split(properties, ","), p.Name) {
			names = append(names, p.Name)
			zones[p.Site.Timezone] = true
		}
	}
	if !all {
		for _, want := range strings.Split(properties, ",") {
			if !slices.Contains(names, want) {
				return gateway.Errorf(gateway.KindNotFound, "there is no property %q at the central (see gateway central property list)", want)
			}
		}
	}
	o.Location = time.UTC
	if len(zones) == 1 {
		for z := range zones {
			if loc, err := time.LoadLocation(z); err == nil && z != "" {
				o.Location = loc
			}
		}
	}
	if err := o.Check(); err != nil {
		return usageError{err.Error()}
	}
	// Entry time is the call's start instant: a day either side of the
	// span catches every zone, and the local dates decide (InPeriod).
	start, end := o.Span()
	var list []string
	if !all {
		list = names
	}
	ces, err := s.Entries(ctx, list, start.Add(-26*time.Hour), end.Add(26*time.Hour), r.History)
	if err != nil {
		return err
	}
	in := report.InPeriod(o)
	es := make([]gateway.Entry, 0, len(ces))
	for i := range ces {
		if in(&ces[i].Entry) {
			es = append(es, ces[i].Entry)
		}
	}
	t, err := r.Run(es, o)
	if err != nil {
		return err
	}
	if len(names) > 1 || all {
		t.Title = fmt.Sprintf("%s (%d properties)", t.Title, len(names))
	}
	return render.WriteOutput(a.stdout, out, t, f)
}
