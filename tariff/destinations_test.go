package tariff

import (
	"testing"
	"time"
)

func TestDestinations(t *testing.T) {
	tr, err := Load("../configs/tariffs/usa.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ds := tr.Destinations(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	if len(ds) == 0 {
		t.Fatal("no destinations")
	}
	for _, d := range ds {
		if d.Prefix == "" || d.Currency != tr.Currency || len(d.Rates) != len(tr.bands) || d.Edition == "" {
			t.Errorf("destination %+v", d)
		}
	}
}
