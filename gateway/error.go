package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller should do about it. Adapters
// classify the errors of the outside things they wrap; the engine decides by
// kind alone (it retries Transient and nothing else).
type Kind int

// The kinds of error. The zero value is KindInternal: an error nobody
// classified is a bug or an unexpected failure, never something to retry blindly.
const (
	KindInternal  Kind = iota // a bug or an unexpected failure of our own
	KindInvalid               // bad input: a record, a config value, a request
	KindNotFound              // the thing asked for does not exist
	KindRejected              // the other side said no, for good (a PMS refusal)
	KindTransient             // a passing failure: try again later
)

var kindNames = [...]string{
	KindInternal:  "internal",
	KindInvalid:   "invalid",
	KindNotFound:  "not found",
	KindRejected:  "rejected",
	KindTransient: "transient",
}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Error is an error with a kind. Its message is meant for the person running
// the gateway: a plain sentence naming the thing and, where it helps, the fix.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // the underlying cause, if any
	// causeInMsg is set by Errorf, whose Msg already holds the text of the
	// cause it wraps (%w): Error prints Msg alone, not the cause twice.
	causeInMsg bool
}

func (e *Error) Error() string {
	switch {
	case e.causeInMsg:
		return e.Msg
	case e.Msg == "" && e.Err != nil:
		return e.Err.Error()
	case e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	default:
		return e.Msg
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted message. A %w verb wraps
// its argument as the cause; its text stands where the verb is, once.
func Errorf(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	cause := errors.Unwrap(err)
	if _, many := err.(interface{ Unwrap() []error }); many {
		cause = err // several %w: errors.Is and As look through each
	}
	return &Error{Kind: k, Msg: err.Error(), Err: cause, causeInMsg: cause != nil}
}

// Wrap returns err classified as kind k, with msg before its text. It returns
// nil for a nil err.
func Wrap(k Kind, err error, msg string) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Msg: msg, Err: err}
}

// KindOf returns the kind of the outermost *Error in err's chain, or
// KindInternal when there is none. A nil error has no kind; KindOf(nil) is
// KindInternal too, so callers test err != nil first.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err is classified as k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// IsTransient reports whether err is worth retrying later.
func IsTransient(err error) bool { return IsKind(err, KindTransient) }

// Message returns the text to show a person for err: the message of a
// classified error; for an unclassified (internal) one, a generic sentence, so
// that driver and disk details end up in the log rather than on a screen.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal {
		return e.Error()
	}
	return "internal error: see the gateway log"
}

// Problem is one thing wrong with a file a person writes (the config, a
// tariff): the key, as a dotted path such as pbx.serial.parity or
// destinations[3].rate; the line it is on (0 when the key is missing from
// the file); and a plain sentence saying what is wrong and what would be
// valid.
type Problem struct {
	Key  string
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", p.Key, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.Key, p.Msg)
}

// Problems is every problem found in one file, reported in one run; a file
// with any is refused as a whole. It is an error, one problem a line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
