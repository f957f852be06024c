package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/store"
)

// userCommand manages the console's users in the journal. The journal is
// locked by a running gateway: stop the service first (or, for a new
// password, ask an admin).
func userCommand() *command {
	var path, role, label string
	register := func(fs *flag.FlagSet) {
		fs.StringVar(&path, "config", path, "the config file (required): the users live in its journal")
		fs.StringVar(&role, "role", role, "user add: the role, one of "+strings.Join(console.Roles, ", "))
		fs.StringVar(&label, "label", label, "user token: what the token is for, e.g. finance-export")
	}
	return &command{
		name: "user",
		args: "add NAME --role R | passwd NAME | list | disable NAME | token NAME",
		summary: "the web console's users: add one (password from the terminal, asked twice, or the first line of stdin), " +
			"set a password, list, disable, or issue an API token",
		flags: func(fs *flag.FlagSet, _ *app) { register(fs) },
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return usageError{"user needs one of add, passwd, list, disable, token"}
			}
			sub := args[0]
			fs := flag.NewFlagSet("gateway user "+sub, flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			register(fs)
			var pos []string
			rest := args[1:]
			for {
				if err := fs.Parse(rest); err != nil {
					if errors.Is(err, flag.ErrHelp) {
						a.commandUsage(a.stdout, lookup("user"))
						return nil
					}
					return usageError{fmt.Sprintf("%s (see gateway user --help)", err)}
				}
				rest = fs.Args()
				if len(rest) == 0 {
					break
				}
				pos, rest = append(pos, rest[0]), rest[1:]
			}
			want := 1
			if sub == "list" {
				want = 0
			}
			switch sub {
			case "add", "passwd", "list", "disable", "token":
			default:
				return usageError{fmt.Sprintf("unknown user command %q: one of add, passwd, list, disable, token", sub)}
			}
			if len(pos) != want {
				if want == 0 {
					return usageError{"user list takes no name"}
				}
				return usageError{"user " + sub + " takes one user name (the password is never an argument)"}
			}
			if path == "" {
				return usageError{"user needs --config FILE"}
			}
			if sub == "add" && !console.ValidRole(role) {
				return usageError{fmt.Sprintf("user add needs --role, one of %s", strings.Join(console.Roles, ", "))}
			}
			if sub != "add" && role != "" {
				return usageError{"--role is for user add"}
			}
			c, err := LoadConfig(path)
			if err != nil {
				return err
			}
			j, err := store.Open(c.Resolve(c.Store.Path), serveStoreOptions(c, a.log))
			if err != nil {
				return fmt.Errorf("%w (a running gateway holds the journal: stop it first)", err)
			}
			defer j.Close()
			name := ""
			if want == 1 {
				name = pos[0]
			}
			return runUser(ctx, a, j, sub, name, role, label)
		},
	}
}

const cliActor = "cli"

func runUser(ctx context.Context, a *app, j *store.Journal, sub, name, role, label string) error {
	now := time.Now()
	audit := func(action string, detail map[string]string) error {
		detail["user"] = name
		return j.Audit(ctx, gateway.AuditRecord{Actor: cliActor, Action: action, Detail: detail})
	}
	switch sub {
	case "list":
		us, err := j.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tTOKENS\tCREATED")
		for _, u := range us {
			state := "active"
			switch {
			case u.Disabled:
				state = "disabled"
			case now.Before(u.LockedUntil):
				state = "locked until " + u.LockedUntil.Local().Format("15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", u.Name, u.Role, state, len(u.Tokens), u.Created.Local().Format("2006-01-02"))
		}
		return tw.Flush()
	case "add":
		if !validUserName(name) {
			return usageError{"a user name has 1 to 64 letters, digits, . _ - @"}
		}
		if _, err := j.User(ctx, name); err == nil {
			return fmt.Errorf("there is already a user %q: gateway user passwd sets a new password", name)
		} else if !gateway.IsKind(err, gateway.KindNotFound) {
			return err
		}
		hash, err := readPassword(a, name)
		if err != nil {
			return err
		}
		if err := j.PutUser(ctx, gateway.User{Name: name, Role: role, PasswordHash: hash, Created: now, Updated: now}); err != nil {
			return err
		}
		if err := audit("user-add", map[string]string{"role": role}); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "user %s added as %s\n", name, role)
	case "passwd":
		if _, err := j.User(ctx, name); err != nil {
			return err
		}
		hash, err := readPassword(a, name)
		if err != nil {
			return err
		}
		if _, err := j.UpdateUser(ctx, name, func(u *gateway.User) error {
			u.PasswordHash, u.Disabled, u.FailedLogins, u.LockedUntil, u.Updated = hash, false, 0, time.Time{}, now
			return nil
		}); err != nil {
			return err
		}
		if err := audit("user-passwd", map[string]string{}); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "password of %s set\n", name)
	case "disable":
		if _, err := j.UpdateUser(ctx, name, func(u *gateway.User) error {
			u.Disabled, u.Tokens, u.Updated = true, nil, now
			return nil
		}); err != nil {
			return err
		}
		if err := audit("user-disable", map[string]string{}); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "user %s disabled: no login, API tokens revoked (gateway user passwd enables it again)\n", name)
	case "token":
		token, hash := console.NewToken()
		if _, err := j.UpdateUser(ctx, name, func(u *gateway.User) error {
			if u.Disabled {
				return gateway.Errorf(gateway.KindInvalid, "user %s is disabled", name)
			}
			u.Tokens = append(u.Tokens, gateway.Token{Hash: hash, Label: label, Created: now})
			u.Updated = now
			return nil
		}); err != nil {
			return err
		}
		if err := audit("user-token", map[string]string{"label": label}); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "API token for %s (shown once; send it as Authorization: Bearer TOKEN):\n", name)
		fmt.Fprintln(a.stdout, token)
	}
	return nil
}

func validUserName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

// readPassword reads a new password: from the terminal, asked twice, or
// the first line of stdin when stdin is not a terminal. It returns the
// bcrypt hash.
func readPassword(a *app, name string) ([]byte, error) {
	var pw string
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(a.stderr, "new password for %s: ", name)
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(a.stderr, "again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, err
		}
		if string(p1) != string(p2) {
			return nil, errors.New("the two passwords differ: nothing changed")
		}
		pw = string(p1)
	} else {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return nil, errors.New("no password on stdin: give it as the first line")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	hash, err := console.HashPassword(pw)
	if err != nil {
		return nil, errors.New(gateway.Message(err))
	}
	return hash, nil
}
