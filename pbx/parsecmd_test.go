package pbx

import (
	"strings"
	"testing"
	"time"
)

func TestParseReceived(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct{ in, want string }{
		{"2026-01-01T00:05:00", "2026-01-01T00:05:00-05:00"},
		{"2026-01-01T00:05", "2026-01-01T00:05:00-05:00"},
		{"2026-01-01 00:05:00", "2026-01-01T00:05:00-05:00"},
		{"2026-01-01", "2026-01-01T00:00:00-05:00"},
		{"2026-01-01T10:00:00Z", "2026-01-01T05:00:00-05:00"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseReceived(c.in, ny)
			if err != nil || got.Format(time.RFC3339) != c.want {
				t.Errorf("%v %v, want %s", got, err, c.want)
			}
		})
	}
	if _, err := ParseReceived("yesterday", ny); err == nil || !strings.Contains(err.Error(), `--received "yesterday" is not a time like`) {
		t.Errorf("a bad time: %v", err)
	}
}

func TestWriteFormats(t *testing.T) {
	var short, long strings.Builder
	if err := WriteFormats(&short, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFormats(&long, true); err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats() {
		if !strings.Contains(short.String(), f.Name) {
			t.Errorf("%s not listed", f.Name)
		}
	}
	if strings.Contains(short.String(), "PBX settings:") || !strings.Contains(long.String(), "PBX settings:") {
		t.Errorf("settings shown without -v, or not with it")
	}
}
