package console

import (
	"context"
	"fmt"
	"io"
)

// Run does one of gateway user's sub-commands (list, add, passwd, disable,
// token) for the user name, saying what it did on out; a new token goes to
// out alone, its caption to note. password gives the new password's hash.
func (a Accounts) Run(ctx context.Context, out, note io.Writer, sub, name, role, label string, password func() ([]byte, error)) error {
	switch sub {
	case "list":
		return a.List(ctx, out)
	case "add":
		if err := a.Add(ctx, name, role, password); err != nil {
			return err
		}
		fmt.Fprintf(out, "user %s added as %s\n", name, role)
	case "passwd":
		if err := a.SetPassword(ctx, name, password); err != nil {
			return err
		}
		fmt.Fprintf(out, "password of %s set\n", name)
	case "disable":
		if err := a.Disable(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(out, "user %s disabled: no login, API tokens revoked (gateway user passwd enables it again)\n", name)
	case "token":
		token, err := a.NewToken(ctx, name, label)
		if err != nil {
			return err
		}
		fmt.Fprintf(note, "API token for %s (shown once; send it as Authorization: Bearer TOKEN):\n", name)
		fmt.Fprintln(out, token)
	default:
		return fmt.Errorf("unknown user command %q: one of add, passwd, list, disable, token", sub)
	}
	return nil
}
