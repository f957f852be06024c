package ship

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"callgate/gateway"
)

// answerCases are the central's answers in testdata/answers (first line
// the HTTP status, the rest the body) and what readAnswer must make of
// them for epoch ep-1 and a batch from event 18: the cursor (for a 200),
// else the error's kind, a sentinel it wraps, and a part of its sentence.
var answerCases = map[string]struct {
	cursor uint64
	kind   gateway.Kind
	is     error
	says   string
	gap    bool
}{
	"ok":              {cursor: 42},
	"ok-empty":        {cursor: 0},
	"other-epoch":     {kind: gateway.KindRejected, says: `answered for epoch "ep-2"`},
	"not-json":        {kind: gateway.KindTransient, says: "without its cursor"},
	"bad-time":        {kind: gateway.KindInvalid, says: "bad time"},
	"gap":             {gap: true, says: "up to event 17"},
	"gap-other-epoch": {gap: true, says: "epoch ep-1 up to event 17"},
	"too-large":       {kind: gateway.KindInvalid, is: ErrTooLarge, says: "over 64 MiB"},
	"chain":           {kind: gateway.KindRejected, is: ErrChain, says: "does not chain"},
	"unauthorized":    {kind: gateway.KindRejected, says: "central.token_file"},
	"forbidden-empty": {kind: gateway.KindRejected, says: "(Forbidden)"},
	"malformed":       {kind: gateway.KindInvalid, says: "has no events"},
	// A central older than the property refuses its batch format: the
	// sentence says to upgrade the central first.
	"older-central":       {kind: gateway.KindInvalid, says: "upgrade the central first"},
	"older-central-field": {kind: gateway.KindInvalid, says: "upgrade the central first"},
	"unavailable-html":    {kind: gateway.KindTransient, says: "HTTP 503"},
	"not-found":           {kind: gateway.KindRejected, says: "HTTP 404"},
}

func readAnswerFile(t testing.TB, path string) (int, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line, body, _ := bytes.Cut(b, []byte("\n"))
	status, err := strconv.Atoi(string(line))
	if err != nil {
		t.Fatalf("%s: the first line is not a status", path)
	}
	return status, body
}

func TestReadAnswerTestdata(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "answers", "*.txt"))
	if len(files) != len(answerCases) {
		t.Fatalf("%d answers in testdata, %d cases", len(files), len(answerCases))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		c, ok := answerCases[name]
		if !ok {
			t.Errorf("%s: no case", f)
			continue
		}
		status, body := readAnswerFile(t, f)
		ack, err := readAnswer(status, body, "https://c.example", "ep-1", 18)
		var gap *gateway.ShipGapError
		switch {
		case c.says == "" && (err != nil || ack.Cursor != c.cursor || ack.Epoch != "ep-1"):
			t.Errorf("%s: %+v %v, want cursor %d", name, ack, err, c.cursor)
		case c.gap && (!errors.As(err, &gap) || gap.Epoch != "ep-1" || gap.First != 18 || !strings.Contains(err.Error(), c.says)):
			t.Errorf("%s: %v, want a gap saying %q", name, err, c.says)
		case c.says != "" && !c.gap && (gateway.KindOf(err) != c.kind || c.is != nil && !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says)):
			t.Errorf("%s: %v (%v), want %v saying %q", name, err, gateway.KindOf(err), c.kind, c.says)
		}
	}
}

func FuzzReadAnswer(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "answers", "*.txt"))
	for _, file := range files {
		status, body := readAnswerFile(f, file)
		f.Add(status, body)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		ack, err := readAnswer(status, body, "https://c.example", "ep-1", 18)
		if err == nil {
			if status != 200 || ack.Epoch != "ep-1" {
				t.Fatalf("status %d taken as an answer %+v", status, ack)
			}
			return
		}
		var gap *gateway.ShipGapError
		if errors.As(err, &gap) != (status == 409) {
			t.Fatalf("status %d: %v", status, err)
		}
		if err.Error() == "" {
			t.Fatal("an error without a sentence")
		}
	})
}
