package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

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
	if sub == "add" && !console.ValidUserName(name) {
		return usageError{"a user name has 1 to 64 letters, digits, . _ - @"}
	}
	acc := console.Accounts{Users: j, Journal: j, Actor: cliActor}
	password := func() ([]byte, error) { return console.ReadNewPassword(a.stdin, a.stderr, name) }
	return acc.Run(ctx, a.stdout, a.stderr, sub, name, role, label, password)
}
