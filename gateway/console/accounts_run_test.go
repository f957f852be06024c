package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"callgate/gateway"
	"callgate/gateway/console"
)

// TestAccountsRun: gateway user's sub-commands and what they say.
func TestAccountsRun(t *testing.T) {
	ctx := context.Background()
	st := &accountsStore{users: map[string]gateway.User{}}
	acc := console.Accounts{Users: st, Journal: st, Actor: "cli"}
	password := func() ([]byte, error) { return []byte("hash"), nil }
	var out, note bytes.Buffer
	run := func(sub, name, role string) error {
		out.Reset()
		note.Reset()
		return acc.Run(ctx, &out, &note, sub, name, role, "finance", password)
	}
	if err := run("add", "night", "frontdesk"); err != nil || out.String() != "user night added as frontdesk\n" {
		t.Errorf("add: %v %q", err, out.String())
	}
	if err := run("passwd", "night", ""); err != nil || out.String() != "password of night set\n" {
		t.Errorf("passwd: %v %q", err, out.String())
	}
	if err := run("token", "night", ""); err != nil || len(strings.TrimSpace(out.String())) < 16 || !strings.HasPrefix(note.String(), "API token for night (shown once") {
		t.Errorf("token: %v %q %q", err, out.String(), note.String())
	}
	if err := run("list", "", ""); err != nil || !strings.Contains(out.String(), "night") {
		t.Errorf("list: %v %q", err, out.String())
	}
	if err := run("disable", "night", ""); err != nil || !strings.HasPrefix(out.String(), "user night disabled: no login") {
		t.Errorf("disable: %v %q", err, out.String())
	}
	if err := run("shred", "night", ""); err == nil {
		t.Error("an unknown sub-command ran")
	}
}
