package gateway

import (
	"strconv"
	"strings"
)

// RoomMap maps the extension a call was made from to the room whose folio it
// is charged to (docs/design.md "Configuration", the rooms section).
type RoomMap struct {
	// Same, when true, makes an extension its own room when nothing else
	// names it (extension 415 is room 415).
	Same bool
	// Map names the room of single extensions ("2101" → "101A").
	Map map[string]string
	// Ranges map runs of extensions by an offset (3105 → 105).
	Ranges []RoomRange
	// NotRooms are extensions that are never rooms (front desk, back office):
	// their calls are accounted, never posted. They win over everything.
	NotRooms []ExtensionRange
}

// RoomRange maps the extensions From..To (numbers of the same width) to
// rooms by adding Offset.
type RoomRange struct {
	From, To string
	Offset   int
}

// ExtensionRange is one extension (From == To) or a run of them.
type ExtensionRange struct {
	From, To string
}

// ParseExtensionRange reads "250" or "200-299".
func ParseExtensionRange(s string) (ExtensionRange, bool) {
	lo, hi, isRange := strings.Cut(s, "-")
	lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
	if !isRange {
		hi = lo
	}
	if !IsDigits(lo) || !IsDigits(hi) || extLess(hi, lo) {
		return ExtensionRange{}, false
	}
	return ExtensionRange{From: lo, To: hi}, true
}

// IsDigits reports whether s is one or more decimal digits (0-9 only): an
// extension, a prefix, a PBX's numeric field.
func IsDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// extLess orders extensions as numbers ("99" < "100"); equal numbers of
// different widths ("0101", "101") order by width.
func extLess(a, b string) bool {
	na, nb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(na) != len(nb) {
		return len(na) < len(nb)
	}
	if na != nb {
		return na < nb
	}
	return len(a) < len(b)
}

func (r ExtensionRange) contains(ext string) bool {
	return IsDigits(ext) && !extLess(ext, r.From) && !extLess(r.To, ext)
}

// RoomReason says why an extension has no room.
type RoomReason string

// Why an extension maps to no room.
const (
	RoomOK          RoomReason = ""
	RoomNotARoom    RoomReason = "not-a-room"        // listed in NotRooms: accounted, never posted
	RoomUnknown     RoomReason = "unknown-extension" // nothing maps it (Same is off)
	RoomNoExtension RoomReason = "no-extension"      // the record has no extension
)

// Resolve returns the room of extension ext, or "" and the reason there is
// none. Order: NotRooms, Map, Ranges, then Same.
func (m RoomMap) Resolve(ext string) (string, RoomReason) {
	if ext == "" {
		return "", RoomNoExtension
	}
	for _, r := range m.NotRooms {
		if r.contains(ext) {
			return "", RoomNotARoom
		}
	}
	if room, ok := m.Map[ext]; ok {
		return room, RoomOK
	}
	for _, r := range m.Ranges {
		if !(ExtensionRange{From: r.From, To: r.To}).contains(ext) {
			continue
		}
		n, err := strconv.Atoi(ext)
		if err != nil || n+r.Offset < 0 {
			continue
		}
		return strconv.Itoa(n + r.Offset), RoomOK
	}
	if m.Same {
		return ext, RoomOK
	}
	return "", RoomUnknown
}
