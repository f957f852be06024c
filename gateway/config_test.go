package gateway

import (
	"strings"
	"testing"
	"time"
)

func TestChecker(t *testing.T) {
	k := &Checker{Line: func(key string) int { return len(key) }}
	k.OneOf("a.b", "x", []string{"y", "z"})
	if !k.Required("c", "set", "a value") || k.Required("d", "", "a value") {
		t.Error("Required")
	}
	k.HostPort("e", "10.0.0.5", true)
	k.HostPort("f", ":0", false)
	k.HostPort("g", ":5100", true)
	k.HostPort("h", "host:99999", true)
	want := []string{
		`a.b: line 3: "x" is not one of y, z`,
		`d: line 1: missing: a value`,
		`e: line 1: "10.0.0.5" is not an address like 10.0.0.5:5100`,
		`g: line 1: ":5100" has no host: give the other side's address, like 10.0.0.5:5100`,
		`h: line 1: "host:99999": port "99999" is not a number from 1 to 65535`,
	}
	if got := k.Problems.Error(); got != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	var none Checker
	none.Add("x", "no line")
	if none.Problems[0].String() != "x: no line" {
		t.Errorf("without Line: %s", none.Problems[0])
	}
}

func TestRoomsConfig(t *testing.T) {
	r := RoomsConfig{Default: "same", Map: map[string]string{"2101": "101A"},
		Ranges: []RoomRangeConfig{{From: "3100", To: "3199", RoomOffset: -3000}}, NotRooms: []string{"200-299", "bad"}}
	m := r.RoomMap()
	if !m.Same || m.Map["2101"] != "101A" || len(m.Ranges) != 1 || m.Ranges[0].Offset != -3000 || len(m.NotRooms) != 1 {
		t.Errorf("room map %+v", m)
	}
	k := &Checker{}
	r.Check(k)
	if got := k.Problems.Error(); got != `rooms.not_rooms[1]: "bad" is not an extension (250) or a range of extensions (200-299, low to high)` {
		t.Errorf("problems: %s", got)
	}
	k = &Checker{}
	bad := RoomsConfig{Default: "some", Map: map[string]string{"x1": " "},
		Ranges: []RoomRangeConfig{{From: "a", To: "1"}, {From: "1", To: "b"}, {From: "300", To: "200", RoomOffset: -1000}}}
	bad.Check(k)
	for _, want := range []string{
		`rooms.default: "some" is not one of same, none`,
		`rooms.map.x1: extension "x1" is not digits`,
		`rooms.map.x1: room " " is empty or holds a character a PMS cannot take`,
		`rooms.ranges[0].from: "a" is not an extension number`,
		`rooms.ranges[1].to: "b" is not an extension number`,
		`rooms.ranges[2]: from 300 is above to 200: swap them`,
		`rooms.ranges[2].room_offset: -1000 takes extension 300 below room 0`,
	} {
		if !strings.Contains(k.Problems.Error(), want) {
			t.Errorf("problems %q lack %q", k.Problems.Error(), want)
		}
	}
}

func TestAlarmsConfig(t *testing.T) {
	a := AlarmsConfig{PMSDownMinutes: 10, QueueMinutes: 30}
	if o := a.Options(); o.PMSDown != 10*time.Minute || o.QueueOlderThan != 30*time.Minute {
		t.Errorf("options %+v", o)
	}
	k := &Checker{}
	AlarmsConfig{}.Check(k)
	if len(k.Problems) != 2 || k.Problems[0].Key != "alarms.pms_down_minutes" || k.Problems[1].Key != "alarms.queue_minutes" {
		t.Errorf("problems %v", k.Problems)
	}
}
