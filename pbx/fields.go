package pbx

import (
	"strings"
)

// col returns columns from to to (1-based, inclusive) of a fixed-width record,
// trimmed of blanks; columns past the end of a short line read as blank.
func col(line string, from, to int) string {
	if from < 1 || from > len(line) || to < from {
		return ""
	}
	if to > len(line) {
		to = len(line)
	}
	return strings.TrimSpace(line[from-1 : to])
}

// atoi parses an unsigned decimal number of at most 9 digits. ok is false for
// an empty string, a sign, or any other character.
func atoi(s string) (n int, ok bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// hms parses a duration written h:mm:ss (any number of hour digits), mm:ss or
// plain seconds, into seconds. Minutes and seconds must be below 60.
func hms(s string) (int, bool) {
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, false
	}
	total := 0
	for i, p := range parts {
		n, ok := atoi(p)
		if !ok {
			return 0, false
		}
		if i > 0 && (n > 59 || len(p) != 2) {
			return 0, false
		}
		total = total*60 + n
	}
	return total, true
}

// CleanDigits removes the decorations PBXs put into dialed numbers that are
// never part of the number: spaces, hyphens, dots used as separators, and a
// trailing '#' (end of dialing). '*' and '+' are kept.
func CleanDigits(s string) string {
	s = strings.TrimSpace(s)
	if strings.IndexAny(s, " -#") < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '-', '#':
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// csvLines splits the comma-separated records of one stream, reusing one
// slice for their fields.
type csvLines struct{ fields []string }

// split returns the fields of line, trimmed of surrounding blanks and line
// ends; nil for a blank line. The fields are valid until the next call. ok
// is false for an unterminated quote.
func (c *csvLines) split(line []byte) ([]string, bool) {
	s := strings.TrimSpace(string(line))
	if s == "" {
		return nil, true
	}
	f, ok := splitCSV(c.fields, s, ',')
	if f == nil {
		f = []string{} // an unterminated first field: not a blank line
	}
	c.fields = f
	return f, ok
}

// splitCSV splits one CSV record into fields, into dst (reused to save
// allocations). Fields in double quotes may hold the separator, and "" inside
// them is one quote; text after a closing quote is kept, as spreadsheets do.
// A quoted field without doubled quotes is a substring of line, not a copy.
// It reports false for an unterminated quote.
func splitCSV(dst []string, line string, sep byte) ([]string, bool) {
	dst = dst[:0]
	for {
		if len(line) == 0 || line[0] != '"' {
			i := strings.IndexByte(line, sep)
			if i < 0 {
				return append(dst, line), true
			}
			dst = append(dst, line[:i])
			line = line[i+1:]
			continue
		}
		// Quoted field: find the closing quote, noting doubled quotes.
		i, doubled := 1, false
		for {
			j := strings.IndexByte(line[i:], '"')
			if j < 0 {
				return dst, false
			}
			i += j + 1
			if i < len(line) && line[i] == '"' {
				doubled = true
				i++
				continue
			}
			break
		}
		field := line[1 : i-1]
		if doubled {
			field = strings.ReplaceAll(field, `""`, `"`)
		}
		line = line[i:]
		if line == "" {
			return append(dst, field), true
		}
		if line[0] != sep {
			// Text after a closing quote: keep it, as spreadsheets do.
			k := strings.IndexByte(line, sep)
			if k < 0 {
				return append(dst, field+line), true
			}
			field += line[:k]
			line = line[k:]
		}
		dst = append(dst, field)
		line = line[1:]
	}
}
