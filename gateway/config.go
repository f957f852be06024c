package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The sections of the gateway's config file that the engine reads.

// RoomsConfig is the rooms section of the gateway's config file: how
// extensions map to rooms (docs/design.md, "Configuration").
type RoomsConfig struct {
	Default  string            `yaml:"default"` // same: extension = room; none: only what map and ranges say
	Map      map[string]string `yaml:"map"`
	Ranges   []RoomRangeConfig `yaml:"ranges"`
	NotRooms []string          `yaml:"not_rooms"` // extensions ("250") or ranges ("200-299") that are never rooms
	Credit   *CreditConfig     `yaml:"credit"`    // credit limits per stay (config_alarms.go)
}

// RoomRangeConfig maps a range of extensions to rooms by an offset.
type RoomRangeConfig struct {
	From       string `yaml:"from"`
	To         string `yaml:"to"`
	RoomOffset int    `yaml:"room_offset"`
}

// RoomMap returns the extension-to-room map the engine uses.
func (r RoomsConfig) RoomMap() RoomMap {
	m := RoomMap{Same: r.Default == "same", Map: r.Map}
	for _, rg := range r.Ranges {
		m.Ranges = append(m.Ranges, RoomRange{From: rg.From, To: rg.To, Offset: rg.RoomOffset})
	}
	for _, s := range r.NotRooms {
		if nr, ok := ParseExtensionRange(s); ok {
			m.NotRooms = append(m.NotRooms, nr)
		}
	}
	return m
}

// Check records the section's problems, under rooms.
func (r *RoomsConfig) Check(k *Checker) {
	k.OneOf("rooms.default", r.Default, []string{"same", "none"})
	for ext, room := range r.Map {
		key := "rooms.map." + ext
		if !IsDigits(ext) {
			k.Add(key, "extension %q is not digits", ext)
		}
		if strings.TrimSpace(room) == "" || strings.ContainsAny(room, "|\t\r\n") {
			k.Add(key, "room %q is empty or holds a character a PMS cannot take", room)
		}
	}
	for i, rg := range r.Ranges {
		key := fmt.Sprintf("rooms.ranges[%d]", i)
		from, err1 := strconv.Atoi(rg.From)
		to, err2 := strconv.Atoi(rg.To)
		if err1 != nil || !IsDigits(rg.From) {
			k.Add(key+".from", "%q is not an extension number", rg.From)
			continue
		}
		if err2 != nil || !IsDigits(rg.To) {
			k.Add(key+".to", "%q is not an extension number", rg.To)
			continue
		}
		if from > to {
			k.Add(key, "from %s is above to %s: swap them", rg.From, rg.To)
		}
		if from+rg.RoomOffset < 0 {
			k.Add(key+".room_offset", "%d takes extension %s below room 0", rg.RoomOffset, rg.From)
		}
	}
	for i, nr := range r.NotRooms {
		if _, ok := ParseExtensionRange(nr); !ok {
			k.Add(fmt.Sprintf("rooms.not_rooms[%d]", i), "%q is not an extension (250) or a range of extensions (200-299, low to high)", nr)
		}
	}
	r.Credit.check(k)
}

// AlarmsConfig is the alarms section of the gateway's config file: when
// alarms are raised (the PBX's silence is pbx.silence_minutes).
type AlarmsConfig struct {
	PMSDownMinutes int `yaml:"pms_down_minutes"` // PMS link down longer than this
	QueueMinutes   int `yaml:"queue_minutes"`    // a posting waiting longer than this
	// Notify, RemindMinutes and Fraud: config_alarms.go.
	Notify        []NotifyTarget `yaml:"notify"`
	RemindMinutes int            `yaml:"remind_minutes"`
	Fraud         *FraudConfig   `yaml:"fraud"`
}

// Check records the section's problems, under alarms.
func (a AlarmsConfig) Check(k *Checker) {
	if a.PMSDownMinutes < 1 {
		k.Add("alarms.pms_down_minutes", "%d: give the minutes (1 or more) the PMS link may be down before the alarm", a.PMSDownMinutes)
	}
	if a.QueueMinutes < 1 {
		k.Add("alarms.queue_minutes", "%d: give the minutes (1 or more) a posting may wait before the alarm", a.QueueMinutes)
	}
	a.checkDelivery(k)
}

// Options returns the engine's alarm options.
func (a AlarmsConfig) Options() AlarmOptions {
	return AlarmOptions{
		PMSDown:        time.Duration(a.PMSDownMinutes) * time.Minute,
		QueueOlderThan: time.Duration(a.QueueMinutes) * time.Minute,
	}
}
