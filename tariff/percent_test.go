package tariff_test

import (
	"strings"
	"testing"

	"callgate/tariff"
)

// TestPercentLimit: a percentage is at most 1,000 %, as docs/tariff.md and
// the message say (issue #14, D14: the cap was 100,000 %).
func TestPercentLimit(t *testing.T) {
	for v, want := range map[string]string{
		"1000":     "",
		"999.999":  "",
		"1000.001": `guest.markup_percent: line 47: "1000.001" is above 1,000 %`,
		"5000":     `"5000" is above 1,000 %`,
		"99999":    `"99999" is above 1,000 %`,
	} {
		src := strings.Replace(example, `markup_percent: "50"`, `markup_percent: "`+v+`"`, 1)
		_, err := tariff.Parse([]byte(src))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s %%: %v", v, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s %%: %v, want %q", v, err, want)
		}
	}
}
