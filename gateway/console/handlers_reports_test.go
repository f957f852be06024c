package console_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/report"
)

func reportQuery(name, from, to, format string) string {
	q := url.Values{"report": {name}, "from": {from}, "to": {to}}
	if format != "" {
		q.Set("format", format)
		return "/reports/download?" + q.Encode()
	}
	return "/reports?" + q.Encode()
}

// TestConsoleReports: /reports lists the reports, runs one over the
// journal into a table with its chart, and offers the downloads; auditors
// and admins only.
func TestConsoleReports(t *testing.T) {
	var asked int
	e := newConsoleEnv(t, func(o *console.Options) {
		o.ReportOptions = func() report.Options {
			asked++
			return report.Options{Location: o.Location, GoS: 0.02,
				TrunkGroups: []report.TrunkGroup{{Name: "pstn", Trunks: []string{"T9"}, Size: 4}}}
		}
	})
	e.seed(gateway.StatePosted, 1)
	e.seed(gateway.StateQueued, 2)

	for _, p := range []string{"/reports", reportQuery("extensions", "2026-11-27", "2026-11-27", ""), reportQuery("extensions", "2026-11-27", "2026-11-27", "csv")} {
		if code, _, _ := e.as("fd").get(p); code != http.StatusForbidden {
			t.Errorf("front desk GET %s: %d, want 403", p, code)
		}
		if code, _, h := e.browser().get(p); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
			t.Errorf("no session GET %s: %d %s, want a redirect to /login", p, code, h.Get("Location"))
		}
	}
	if _, body, _ := e.as("fd").get("/"); strings.Contains(body, `href="/reports"`) {
		t.Error("the front desk's nav bar links /reports")
	}

	aud := e.as("aud")
	code, body, _ := aud.get("/reports")
	if code != http.StatusOK {
		t.Fatalf("GET /reports: %d\n%s", code, body)
	}
	ny, _ := time.LoadLocation("America/New_York")
	yesterday := time.Now().In(ny).AddDate(0, 0, -1).Format(time.DateOnly)
	for _, want := range []string{`href="/reports" class="on"`, `id="report-list"`, "busy-hour", "Busy hour: trunk traffic per clock hour", "hour, calls, erlangs, ccs", "night-audit", "gateway report carriers --tariff FILE", `type="date" name="from" value="` + yesterday + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/reports lacks %q", want)
		}
	}
	if strings.Contains(body, `<option value="carriers"`) {
		t.Error("/reports offers carriers, which needs tariff files")
	}

	code, body, _ = aud.get(reportQuery("extensions", "2026-11-27", "", ""))
	if code != http.StatusOK {
		t.Fatalf("extensions: %d\n%s", code, body)
	}
	for _, want := range []string{"Calls and cost by extension", `<option value="extensions" selected>`, "<th>extension</th>", "<td>101</td>", `<td class="num">2</td>`,
		"2026-11-27 to 2026-11-27", `href="/reports/download?format=csv&amp;from=2026-11-27&amp;report=extensions&amp;to=2026-11-27"`} {
		if !strings.Contains(body, want) {
			t.Errorf("extensions page lacks %q", want)
		}
	}
	if asked == 0 {
		t.Error("the page did not take the configured report options")
	}
	_, body, _ = aud.get(reportQuery("busy-hour", "2026-11-27", "2026-11-27", ""))
	if !strings.Contains(body, `<figure class="report-chart" id="chart"><svg`) || !strings.Contains(body, `<rect class="bar"`) || !strings.Contains(body, "<td>2026-11-27T14:00</td>") {
		t.Errorf("busy-hour page lacks its chart or its 14:00 row\n%s", body)
	}
	if code, _, _ := e.as("adm").get(reportQuery("gos", "2026-11-27", "2026-11-27", "")); code != http.StatusOK {
		t.Errorf("admin gos: %d", code)
	}

	// The downloads.
	get := func(format string) (string, []byte) {
		t.Helper()
		res, err := aud.hc.Get(aud.base + reportQuery("extensions", "2026-11-27", "2026-11-27", format))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", format, res.StatusCode, b.String())
		}
		if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="extensions_2026-11-27_2026-11-27.`+format+`"` {
			t.Errorf("%s: Content-Disposition %q", format, cd)
		}
		return res.Header.Get("Content-Type"), b.Bytes()
	}
	ct, b := get("csv")
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if ct != "text/csv; charset=utf-8" || err != nil || len(recs) != 2 || strings.Join(recs[0], ",") != "extension,calls,minutes,carrier_cost,guest_charge" || recs[1][0] != "101" || recs[1][1] != "2" {
		t.Errorf("csv: %s %v %q", ct, err, recs)
	}
	ct, b = get("json")
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); ct != "application/json" || err != nil || len(rows) != 1 || rows[0]["extension"] != "101" || rows[0]["calls"] != 2.0 {
		t.Errorf("json: %s %v %s", ct, err, b)
	}
	ct, b = get("xlsx")
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || err != nil {
		t.Fatalf("xlsx: %s %v", ct, err)
	}
	defer f.Close()
	got, err := f.GetRows(f.GetSheetName(0))
	found := false
	for _, r := range got {
		found = found || len(r) > 1 && r[0] == "101" && r[1] == "2"
	}
	if err != nil || !found {
		t.Errorf("xlsx rows %q %v", got, err)
	}
	ct, b = get("html")
	if ct != "text/html; charset=utf-8" || !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) || !bytes.Contains(b, []byte("Calls and cost by extension")) {
		t.Errorf("html: %s\n%s", ct, b)
	}
	res, err := aud.hc.Get(aud.base + reportQuery("busy-hour", "2026-11-27", "2026-11-27", "html"))
	if err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	hb.ReadFrom(res.Body)
	res.Body.Close()
	if !strings.Contains(hb.String(), `<figure id="chart"><svg`) {
		t.Error("the busy-hour HTML download lacks its chart")
	}
}

// TestConsoleReportsValidation: bad filters are a 400 with a message.
func TestConsoleReportsValidation(t *testing.T) {
	e := newConsoleEnv(t)
	aud := e.as("aud")
	for p, want := range map[string]string{
		reportQuery("nope", "2026-11-27", "", ""):                     "there is no report called &#34;nope&#34;",
		reportQuery("carriers", "2026-11-27", "", ""):                 "needs alternative tariff files",
		reportQuery("rooms", "", "", ""):                              "needs the first date",
		reportQuery("rooms", "27/11/2026", "", ""):                    "is not a date like 2026-11-01",
		reportQuery("rooms", "2026-11-27", "2026-11-31", ""):          "is not a date like 2026-11-30",
		reportQuery("rooms", "2026-11-27", "2026-11-01", ""):          "is after its --to date",
		reportQuery("rooms", "2025-01-01", "2026-11-01", ""):          "at most a year",
		reportQuery("rooms", "2026-11-27", "", "pdf"):                 "is not one of csv, json, xlsx, html",
		reportQuery("rooms", "2026-11-27", "", "table"):               "is not one of csv, json, xlsx, html",
		reportQuery("carriers", "2026-11-27", "", "csv"):              "needs alternative tariff files",
		reportQuery(strings.Repeat("x", 50), "2026-11-27", "", "csv"): "too long",
		"/reports/download?report=rooms&from=2026-11-27":              "is not one of csv",
	} {
		code, body, _ := aud.get(p)
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 400 with %q\n%s", p, code, want, body)
		}
	}
}

// TestConsoleDeliveries: the dashboard shows the scheduled reports' state
// to auditors, not to the front desk.
func TestConsoleDeliveries(t *testing.T) {
	last := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	e := newConsoleEnv(t, func(o *console.Options) {
		o.Deliveries = func() []report.Delivery {
			return []report.Delivery{{Report: "busy-hour", Period: "last-week", To: []string{"it@hotel.test", "gm@hotel.test"}, Schedule: "0 6 * * 1",
				Next: last.Add(72 * time.Hour), LastRun: last, LastError: "sending through mail.test:587: 451 try again later", Failures: 3}}
		}
	})
	_, body, _ := e.as("aud").get("/")
	for _, want := range []string{`id="deliveries"`, "<td>busy-hour</td>", "it@hotel.test, gm@hotel.test", "2026-11-27 06:00:00", "451 try again later", `<td class="num alarm">3</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if _, body, _ := e.as("fd").get("/"); strings.Contains(body, "deliveries") {
		t.Error("the front desk sees the scheduled reports")
	}
}

// TestConsoleCarriers: with alternative tariffs in the config, /reports
// offers carriers and compares the journal's cost with theirs; a tariff file
// that no longer loads is an error that names it. (That the config's files
// are named by their base name is cmd/gateway's TestLoadCarriers.)
func TestConsoleCarriers(t *testing.T) {
	var broken atomic.Bool
	e := newConsoleEnv(t, func(o *console.Options) {
		o.CarrierTariffs = func() ([]report.NamedRater, error) {
			if broken.Load() {
				return nil, errors.New("alternative tariff carrier-b.yaml: line 3: bad")
			}
			// An alternative tariff as cmd/gateway's loadCarriers names it:
			// by its file's name.
			return []report.NamedRater{{Name: "usa.yaml", Rater: &fakeTariff{}}}, nil
		}
	})
	e.seed(gateway.StatePosted, 1)
	aud := e.as("aud")
	code, body, _ := aud.get(reportQuery("carriers", "2026-11-27", "", ""))
	if code != http.StatusOK || !strings.Contains(body, `<option value="carriers" selected>`) || !strings.Contains(body, "<td>usa.yaml</td>") {
		t.Errorf("carriers page: %d\n%s", code, body)
	}
	code, body, _ = aud.get(reportQuery("carriers", "2026-11-27", "", "csv"))
	if code != http.StatusOK || !strings.HasPrefix(body, "tariff,class,destination,calls,actual_cost,alternative_cost,difference") {
		t.Errorf("carriers csv: %d\n%s", code, body)
	}
	broken.Store(true)
	if code, body, _ = aud.get(reportQuery("carriers", "2026-11-27", "", "")); code != http.StatusInternalServerError || !strings.Contains(body, "carrier-b.yaml: line 3") {
		t.Errorf("broken tariff: %d\n%s", code, body)
	}
}
