package fias

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// TestBuildPS: the PS content rules of docs/fias.md, "Postings: PS and PA":
// digits-only DD of at most 20, PX only when numeric, PC from the class, CT
// cleaned and cut to 20, SO when configured, DU as HHMMSS.
func TestBuildPS(t *testing.T) {
	l := &Link{o: Options{AmountExponent: 2}.withDefaults(), callTypes: DefaultCallTypes}
	p := gateway.PostRequest{
		Number: 99999999, Room: "0101", AmountMinor: 5, Currency: "EUR",
		Start:     time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC),
		DurationS: 99*3600 + 59*60 + 59, Dialed: "*31#+1 (212) 555-0100 ext 1234567890123",
		Class: "Mobile", Trunk: "T9005", Destination: "Zürich | mobile\tnetwork (Swisscom) extra",
	}
	r, err := l.buildPS(p)
	if err != nil {
		t.Fatal(err)
	}
	const want = "PS|RN0101|PTC|TA5|DA261231|TI235958|DU995959|DD31121255501001234567|PCM|P#99999999|CTZürich / mobile netw|"
	if r.String() != want {
		t.Errorf("PS\n got %s\nwant %s", r.String(), want)
	}
	l.o.SalesOutlet = "12"
	p.Trunk, p.Class, p.Dialed, p.Destination, p.DurationS = "905", "premium", "", "", 61
	r, _ = l.buildPS(p)
	if got := r.String(); got != "PS|RN0101|PTC|TA5|DA261231|TI235958|DU000101|PX905|SO12|P#99999999|" {
		t.Errorf("PS %s", got)
	}
	for _, n := range []uint32{0, MaxPostingNumber + 1} {
		p.Number = n
		if _, err := l.buildPS(p); gateway.KindOf(err) != gateway.KindInvalid || !strings.Contains(err.Error(), "posting number") {
			t.Errorf("P# %d: %v", n, err)
		}
	}
}

func TestAnswerClasses(t *testing.T) {
	for as, want := range map[string]gateway.PostOutcome{
		"OK": gateway.PostPosted, "RY": gateway.PostTransient, "NA": gateway.PostTransient,
		"NG": gateway.PostRefused, "NP": gateway.PostRefused, "UR": gateway.PostRefused, "IA": gateway.PostRefused,
		"FX": gateway.PostRefused, "DN": gateway.PostRefused, "": gateway.PostRefused, "ok": gateway.PostRefused, "Q1": gateway.PostRefused,
	} {
		if got := Answer(as); got != want {
			t.Errorf("Answer(%q) = %s, want %s", as, got, want)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	good := Options{Address: "10.0.0.20:5010", AmountExponent: 2}
	if ps := good.Check(); len(ps) != 0 {
		t.Errorf("good options: %v", ps)
	}
	bad := Options{Address: "10.0.0.20", Serial: &SerialOptions{DataBits: 5, Parity: "mark"}, InterfaceFamily: "XX",
		VendorVersion: "far too long a version", AmountExponent: 9, CodePage: "ebcdic", SalesOutlet: "123456",
		CallTypes: map[string]string{"local": "LL"}, AnswerTimeout: time.Second, AliveInterval: time.Minute}
	var text []string
	for _, p := range bad.Check() {
		text = append(text, p.String())
	}
	all := strings.Join(text, "\n")
	for _, w := range []string{"serial: given with an address", "serial.data_bits", "serial.parity", "interface_family", "vendor_version",
		"amount_exponent", "code_page", "posting.sales_outlet", "posting.call_types.local", "answer_timeout_s", "alive_interval_s"} {
		if !strings.Contains(all, w) {
			t.Errorf("no problem about %s:\n%s", w, all)
		}
	}
	if _, err := Open(bad); gateway.KindOf(err) != gateway.KindInvalid {
		t.Errorf("Open with bad options: %v", err)
	}
}
