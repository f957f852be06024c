package gateway

import "testing"

// TestSealGuestData: a sealed guest event keeps the stay's keys only, and
// its "fields" names no field of the guest record (docs/central.md,
// "Guest data"); a list that named only those keeps the room's id, so it
// never turns into the empty list, which reads as every field.
func TestSealGuestData(t *testing.T) {
	for _, c := range []struct {
		in, want string
		personal bool
	}{
		{`{"room":"101","event":"check-in","fields":["RN","G#","GS"]}`, `{"room":"101","event":"check-in","fields":["RN","G#","GS"]}`, false},
		{`{"room":"101","vip":"7","fields":["RN","GS"]}`, `{"room":"101","fields":["RN","GS"]}`, true},
		{`{"room":"101","fields":["RN","G#","GV","NP","GA","CS","GN"]}`, `{"room":"101","fields":["RN","G#","GA"]}`, true},
		{`{"room":"101","fields":["GV"]}`, `{"room":"101","fields":["RN"]}`, true},
		{`{"room":"101"}`, `{"room":"101"}`, false},
		{`{"room":"101","fields":"odd"}`, `{"room":"101","fields":"odd"}`, false},
	} {
		got, personal, err := SealGuestData([]byte(c.in))
		if err != nil || string(got) != c.want || personal != c.personal {
			t.Errorf("SealGuestData(%s) = %s, %v, %v; want %s, %v", c.in, got, personal, err, c.want, c.personal)
		}
	}
	if _, _, err := SealGuestData([]byte(`[1]`)); err == nil {
		t.Error("data that is no object was sealed")
	}
}
