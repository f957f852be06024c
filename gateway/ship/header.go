package ship

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// fastHeader reads a stored event's envelope the way the journal writes
// it — its keys in their fixed order (seq, entry, kind, time, time_utc,
// actor, reason, from, to, data), strings without escapes — in one pass
// without reflection, keeping data as a slice of body. It reports false
// for any other shape, which json.Unmarshal then reads: the fast path is
// an optimization, never a second definition (FuzzFastHeader checks they
// agree). body has been checked to be valid JSON (the batch's decoder).
func fastHeader(body []byte) (eventHeader, bool) {
	var h eventHeader
	p := body
	if !bytes.HasPrefix(p, []byte(`{"seq":`)) {
		return h, false
	}
	p = p[len(`{"seq":`):]
	var ok bool
	if h.Seq, p, ok = fastUint(p); !ok {
		return h, false
	}
	if bytes.HasPrefix(p, []byte(`,"entry":`)) {
		if h.Entry, p, ok = fastUint(p[len(`,"entry":`):]); !ok {
			return h, false
		}
	}
	for _, f := range [...]struct {
		key      string
		dst      *string
		optional bool
	}{{`,"kind":`, &h.Kind, false}, {`,"time":`, &h.Time, false}, {`,"time_utc":`, &h.TimeUTC, false},
		{`,"actor":`, &h.Actor, true}, {`,"reason":`, &h.Reason, true}, {`,"from":`, &h.From, true}, {`,"to":`, &h.To, true}} {
		if !bytes.HasPrefix(p, []byte(f.key)) {
			if f.optional {
				continue
			}
			return h, false
		}
		if *f.dst, p, ok = fastString(p[len(f.key):]); !ok {
			return h, false
		}
	}
	if bytes.HasPrefix(p, []byte(`,"data":`)) {
		p = p[len(`,"data":`):]
		n := valueEnd(p)
		if n <= 0 {
			return h, false
		}
		h.Data, p = p[:n:n], p[n:]
	}
	return h, len(p) == 1 && p[0] == '}'
}

// fastUint reads a JSON number that is a plain unsigned integer.
func fastUint(p []byte) (uint64, []byte, bool) {
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	if i == 0 || i > 1 && p[0] == '0' || i < len(p) && (p[i] == '.' || p[i] == 'e' || p[i] == 'E') {
		return 0, p, false
	}
	v, err := strconv.ParseUint(string(p[:i]), 10, 64)
	return v, p[i:], err == nil
}

// fastString reads a JSON string without escapes, in valid UTF-8 (which
// encoding/json would rewrite).
func fastString(p []byte) (string, []byte, bool) {
	if len(p) == 0 || p[0] != '"' {
		return "", p, false
	}
	end := bytes.IndexByte(p[1:], '"')
	if end < 0 || bytes.IndexByte(p[1:1+end], '\\') >= 0 || !utf8.Valid(p[1:1+end]) {
		return "", p, false
	}
	return string(p[1 : 1+end]), p[2+end:], true
}

// valueEnd is the length of the object or array that p starts with
// (valid JSON), or 0 when p starts with neither.
func valueEnd(p []byte) int {
	if len(p) == 0 || p[0] != '{' && p[0] != '[' {
		return 0
	}
	depth, in, esc := 0, false, false
	for i, c := range p {
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case in && c == '"':
			in = false
		case in:
		case c == '"':
			in = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}
