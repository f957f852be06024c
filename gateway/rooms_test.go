package gateway_test

import (
	"testing"

	"callgate/gateway"
)

func TestRoomMap(t *testing.T) {
	nr := func(s string) gateway.ExtensionRange {
		r, ok := gateway.ParseExtensionRange(s)
		if !ok {
			t.Fatalf("ParseExtensionRange(%q) refused", s)
		}
		return r
	}
	m := gateway.RoomMap{
		Same:     true,
		Map:      map[string]string{"2101": "101A", "250": "penthouse"},
		Ranges:   []gateway.RoomRange{{From: "3100", To: "3199", Offset: -3000}},
		NotRooms: []gateway.ExtensionRange{nr("200-299"), nr("300"), nr("0")},
	}
	for ext, want := range map[string][2]string{
		"415":  {"415", ""},
		"0415": {"0415", ""}, // leading zeros are the PMS's business: kept
		"2101": {"101A", ""},
		"3105": {"105", ""},
		"3199": {"199", ""},
		"3200": {"3200", ""},
		"200":  {"", "not-a-room"},
		"250":  {"", "not-a-room"}, // not_rooms win over the map
		"299":  {"", "not-a-room"},
		"300":  {"", "not-a-room"},
		"301":  {"301", ""},
		"0":    {"", "not-a-room"},
		"":     {"", "no-extension"},
		"*123": {"*123", ""},
	} {
		room, why := m.Resolve(ext)
		if room != want[0] || string(why) != want[1] {
			t.Errorf("Resolve(%q) = %q %q, want %q %q", ext, room, why, want[0], want[1])
		}
	}
	m.Same = false
	if room, why := m.Resolve("415"); room != "" || why != gateway.RoomUnknown {
		t.Errorf("default none: %q %q", room, why)
	}
	for _, bad := range []string{"", "2a0", "299-200", "1-", "-5"} {
		if _, ok := gateway.ParseExtensionRange(bad); ok {
			t.Errorf("ParseExtensionRange(%q) accepted", bad)
		}
	}
	// Numeric order, not string order: 99 is below 100.
	r := nr("95-105")
	m2 := gateway.RoomMap{NotRooms: []gateway.ExtensionRange{r}, Same: true}
	for _, ext := range []string{"95", "99", "100", "105"} {
		if _, why := m2.Resolve(ext); why != gateway.RoomNotARoom {
			t.Errorf("%s should be in 95-105", ext)
		}
	}
	if _, why := m2.Resolve("106"); why != gateway.RoomOK {
		t.Error("106 is outside 95-105")
	}
}
