package console_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"callgate/gateway"
)

var nextPage = regexp.MustCompile(`href="/rooms\?from=([^"]*)" id="rooms-next"`)

// TestRoomsPaged (issue 14, D12): a house of 450 rooms is shown 200 rooms a
// page, in room order, with a link to the next page; never the whole house
// in one page.
func TestRoomsPaged(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	for i := range 450 {
		room := fmt.Sprintf("%04d", 1000+i)
		if _, err := e.j.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn,
			Guest: gateway.Guest{Room: room, Reservation: "R" + room, LastName: "Guest"}}); err != nil {
			t.Fatal(err)
		}
	}
	fd := e.as("fd")
	rows := func(body string) int { return strings.Count(body, `/statement">Statement</a>`) }
	var seen []string
	path := "/rooms"
	for page := 0; page < 5 && path != ""; page++ {
		code, body, _ := fd.get(path)
		if code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		if n := rows(body); n > 200 || n == 0 {
			t.Errorf("%s: %d rooms on the page", path, n)
		}
		if !strings.Contains(body, "of 450 occupied rooms") {
			t.Errorf("%s: no count of the whole house", path)
		}
		seen = append(seen, fmt.Sprint(rows(body)))
		path = ""
		if m := nextPage.FindStringSubmatch(body); m != nil {
			path = "/rooms?from=" + m[1]
		}
	}
	if got := strings.Join(seen, ","); got != "200,200,50" {
		t.Errorf("rooms per page %s, want 200,200,50", got)
	}
	if code, _, _ := fd.get("/rooms?from=" + strings.Repeat("9", 101)); code != 400 {
		t.Errorf("an overlong from: %d", code)
	}
}
