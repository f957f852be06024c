package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/crypto/bcrypt"

	"callgate/gateway"
	"callgate/store"
)

func TestUserCommand(t *testing.T) {
	cfg := strings.Replace(strings.Replace(goodConfig, "/dev/ttyUSB0", ptyDevice(t), 1), "/var/lib/callgate/journal.db", "journal.db", 1)
	path := writeConfig(t, cfg)
	code, out, errOut := run(t, "a long enough password\n", "user", "add", "night", "--role", "auditor", "--config", path)
	if code != 0 || out != "user night added as auditor\n" {
		t.Fatalf("add: exit %d, %q %q", code, out, errOut)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		err   string
	}{
		{"a long enough password\n", []string{"user", "add", "night", "--role", "auditor", "--config", path}, 1, "already a user"},
		{"a long enough password\n", []string{"user", "add", "x", "--role", "boss", "--config", path}, 2, "--role"},
		{"a long enough password\n", []string{"user", "add", "x", "a long enough password", "--role", "admin", "--config", path}, 2, "never an argument"},
		{"short\n", []string{"user", "add", "x", "--role", "admin", "--config", path}, 1, "at least 10 characters"},
		{"", []string{"user", "add", "x", "--role", "admin", "--config", path}, 1, "no password on stdin"},
		{"", []string{"user", "add", "x", "--role", "admin"}, 2, "--config"},
		{"", []string{"user", "rename", "x", "--config", path}, 2, "unknown user command"},
		{"", []string{"user", "disable", "nobody", "--config", path}, 1, "no user"},
	} {
		code, _, errOut := run(t, c.stdin, c.args...)
		if code != c.code || !strings.Contains(errOut, c.err) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args, code, errOut, c.code, c.err)
		}
	}
	if code, _, errOut := run(t, "another password 2\n", "user", "passwd", "night", "--config", path); code != 0 {
		t.Fatalf("passwd: %d %s", code, errOut)
	}
	code, token, _ := run(t, "", "user", "token", "night", "--label", "finance", "--config", path)
	if code != 0 || !strings.HasPrefix(token, "cg_") {
		t.Fatalf("token: %d %q", code, token)
	}
	code, out, _ = run(t, "", "user", "list", "--config", path)
	if code != 0 || !regexpMatch(`night\s+auditor\s+active\s+1\s`, out) {
		t.Errorf("list: %q", out)
	}
	if code, _, _ := run(t, "", "user", "disable", "night", "--config", path); code != 0 {
		t.Fatal("disable failed")
	}
	code, out, _ = run(t, "", "user", "list", "--config", path)
	if code != 0 || !regexpMatch(`night\s+auditor\s+disabled\s+0\s`, out) {
		t.Errorf("list after disable: %q", out)
	}

	j, err := store.Open(filepath.Join(filepath.Dir(path), "journal.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	u, err := j.User(context.Background(), "night")
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte("another password 2")) != nil || !u.Disabled || len(u.Tokens) != 0 {
		t.Errorf("stored user %+v", u)
	}
	evs, _ := j.Events(context.Background(), gateway.EventFilter{Audit: true})
	var actions []string
	for _, ev := range evs {
		if ev.Actor == cliActor {
			actions = append(actions, string(ev.Data))
		}
	}
	all := strings.Join(actions, " ")
	for _, a := range []string{"user-add", "user-passwd", "user-token", "user-disable"} {
		if !strings.Contains(all, a) {
			t.Errorf("no %s audit record in %s", a, all)
		}
	}
	if strings.Contains(all, "password 2") || strings.Contains(all, strings.TrimSpace(token)) {
		t.Error("a secret in the audit log")
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// TestUserPasswordFromTerminal types the password twice on a terminal (a
// pseudo-terminal), as a person does.
func TestUserPasswordFromTerminal(t *testing.T) {
	cfg := strings.Replace(strings.Replace(goodConfig, "/dev/ttyUSB0", ptyDevice(t), 1), "/var/lib/callgate/journal.db", "journal.db", 1)
	path := writeConfig(t, cfg)
	for _, c := range []struct {
		typed string
		code  int
		want  string
	}{
		{"first password\nother password\n", 1, "the two passwords differ"},
		{"typed password\ntyped password\n", 0, "user desk added as frontdesk"},
	} {
		master, slave, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal: %v", err)
		}
		if _, err := master.WriteString(c.typed); err != nil {
			t.Fatal(err)
		}
		var out, errOut strings.Builder
		code := Run(context.Background(), []string{"user", "add", "desk", "--role", "frontdesk", "--config", path}, slave, &out, &errOut)
		master.Close()
		slave.Close()
		if code != c.code || !strings.Contains(out.String()+errOut.String(), c.want) {
			t.Errorf("typed %q: exit %d, %q %q", c.typed, code, out.String(), errOut.String())
		}
		if !strings.Contains(errOut.String(), "new password for desk: ") || !strings.Contains(errOut.String(), "again: ") {
			t.Errorf("no prompts: %q", errOut.String())
		}
	}
	j, err := store.Open(filepath.Join(filepath.Dir(path), "journal.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	u, err := j.User(context.Background(), "desk")
	if err != nil || bcrypt.CompareHashAndPassword(u.PasswordHash, []byte("typed password")) != nil {
		t.Errorf("stored user: %v", err)
	}
}
