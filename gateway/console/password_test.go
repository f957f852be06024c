package console

import (
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestReadNewPassword(t *testing.T) {
	hash, err := ReadNewPassword(strings.NewReader("correct horse battery\nnext line\n"), io.Discard, "anna")
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte("correct horse battery")) != nil {
		t.Error("the hash is not of the first line")
	}
	if _, err := ReadNewPassword(strings.NewReader(""), io.Discard, "anna"); err == nil || err.Error() != "no password on stdin: give it as the first line" {
		t.Errorf("empty stdin: %v", err)
	}
}
