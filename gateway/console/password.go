package console

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"callgate/gateway"
)

// ReadNewPassword reads a new password for the user name (gateway user):
// from the terminal in, asked twice on prompt, or the first line of in when
// it is not a terminal. It returns the bcrypt hash.
func ReadNewPassword(in io.Reader, prompt io.Writer, name string) ([]byte, error) {
	var pw string
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(prompt, "new password for %s: ", name)
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(prompt, "again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, err
		}
		if string(p1) != string(p2) {
			return nil, errors.New("the two passwords differ: nothing changed")
		}
		pw = string(p1)
	} else {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return nil, errors.New("no password on stdin: give it as the first line")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	hash, err := HashPassword(pw)
	if err != nil {
		return nil, errors.New(gateway.Message(err))
	}
	return hash, nil
}
