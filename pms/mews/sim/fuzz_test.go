package sim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"callgate/pms/mews"
	"callgate/pms/mews/sim"
)

// FuzzRequests feeds any body to each operation of the simulator: it never
// panics, answers only statuses the Connector API documents, and every
// error is in the API's error shape.
func FuzzRequests(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*_request*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			for op := 0; op < 4; op++ {
				f.Add(uint8(op), b)
			}
		}
	}
	f.Add(uint8(1), []byte(`{"ClientToken":"`+sim.DefaultClientToken+`","AccessToken":"`+sim.DefaultAccessToken+`","Client":"x","States":["Started"],"Limitation":{"Count":5,"Cursor":"nope"}}`))
	f.Add(uint8(3), []byte(`{"ClientToken":"`+sim.DefaultClientToken+`","AccessToken":"`+sim.DefaultAccessToken+`","Client":"x","CreatedUtc":{"StartUtc":"x","EndUtc":"y"},"Limitation":{"Count":5}}`))
	s, err := sim.New(sim.Options{Rooms: []string{"101"}, RateLimit: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	if err := s.Occupy("101"); err != nil {
		f.Fatal(err)
	}
	ops := []string{mews.PathResources, mews.PathReservations, mews.PathAddOrder, mews.PathOrderItems}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		r := httptest.NewRequest(http.MethodPost, mews.APIPrefix+ops[int(op)%len(ops)], bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		switch w.Code {
		case 200:
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("200 with %q", w.Body.String())
			}
		case 400, 401, 403:
			var e mews.ErrorResponse
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Message == "" {
				t.Fatalf("%d not in the error shape: %q", w.Code, w.Body.String())
			}
		default:
			t.Fatalf("status %d: %q", w.Code, w.Body.String())
		}
	})
}
