package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
)

// TestFullQueueKeepsTheNextMessage fills a webhook's queue past queueMax
// while its first message is on the wire: the full queue drops its oldest
// messages, the one being sent among them. When that send succeeds the
// sender must not take the queue's new head for the message it sent: every
// message still queued is delivered, in order, none skipped.
func TestFullQueueKeepsTheNextMessage(t *testing.T) {
	release := make(chan struct{})
	first := make(chan struct{})
	var mu sync.Mutex
	var got []string
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var m Message
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		mu.Lock()
		got = append(got, m.Text)
		mu.Unlock()
		once.Do(func() {
			close(first)
			select {
			case <-release:
			case <-time.After(20 * time.Second):
			}
		})
	}))
	defer srv.Close()
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := New(Options{Site: "test", Targets: []gateway.NotifyTarget{{Webhook: srv.URL, SecretFile: key}},
		Logger: zerolog.Nop(), RetryMin: time.Millisecond, RetryMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tg := n.targets[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); tg.run(ctx) }()

	const extra = 5 // messages past a full queue
	tg.push(Message{Text: "0"})
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("the first message never reached the receiver")
	}
	for i := 1; i <= queueMax+extra; i++ {
		tg.push(Message{Text: strconv.Itoa(i)})
	}
	close(release)
	// Message 0 was on the wire; 1 … extra left the full queue; the queue
	// holds extra+1 … queueMax+extra, all to be delivered after 0.
	want := []string{"0"}
	for i := extra + 1; i <= queueMax+extra; i++ {
		want = append(want, strconv.Itoa(i))
	}
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k >= len(want) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the receiver has %d messages, want %d", k, len(want))
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("%d messages delivered, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d is %q, want %q (delivered %v…)", i, got[i], want[i], got[:min(len(got), i+3)])
		}
	}
}
