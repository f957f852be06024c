package console

import (
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

// The console offers every report, carriers only when the config lists
// alternative tariffs, and downloads every file format of render.Write
// (table is for terminals).
func TestReportLists(t *testing.T) {
	carriers := func(rs []report.Report) bool {
		return slices.ContainsFunc(rs, func(r report.Report) bool { return r.Name == "carriers" })
	}
	s := &Server{}
	if got := s.offered(); len(got) != len(report.Reports())-1 || carriers(got) {
		t.Errorf("console reports without alternative tariffs %v", got)
	}
	s.o.CarrierTariffs = func() ([]report.NamedRater, error) { return nil, nil }
	if got := s.offered(); len(got) != len(report.Reports()) || !carriers(got) {
		t.Errorf("console reports with alternative tariffs %v", got)
	}
	for _, f := range render.Formats {
		if f != "table" && !slices.ContainsFunc(downloadFormats, func(d struct{ Name, Type string }) bool { return d.Name == f }) {
			t.Errorf("no download of %s", f)
		}
	}
}

// The form's dates and the configured options make the report's options.
func TestReportOptions(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	s := &Server{o: Options{Location: loc, ReportOptions: func() report.Options {
		return report.Options{GoS: 0.02, TrunkGroups: []report.TrunkGroup{{Name: "pstn", Size: 8}}}
	}}}
	f := reportFilter{Report: "sizing", From: "2026-11-01"}
	o, err := s.reportOptions(&f)
	if err != nil {
		t.Fatal(err)
	}
	if o.GoS != 0.02 || len(o.TrunkGroups) != 1 || o.Location != loc || f.To != "2026-11-01" || !o.To.Equal(o.From) || o.From.Day() != 1 {
		t.Errorf("options %+v, filter %+v", o, f)
	}
	for _, bad := range []reportFilter{{Report: "carriers", From: "2026-11-01"}, {Report: "x", From: "2026-11-01"}, {Report: "rooms"},
		{Report: "rooms", From: "2026-11-02", To: "2026-11-01"}, {Report: "rooms", From: "2026-13-01"}} {
		if _, err := s.reportOptions(&bad); err == nil || !strings.Contains(err.Error(), "code=400") {
			t.Errorf("%+v: %v, want a 400", bad, err)
		}
	}
}
