package tariff

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"callgate/gateway"
	"callgate/internal/yamlstrict"
)

// A destination list may be given as the name of a CSV file instead of a
// YAML list ("destinations: carrier-2027.csv"): carriers deliver their rate
// decks as spreadsheets, and a deck of 100,000 prefixes loads from CSV in a
// fraction of the time YAML takes. The file's first row names the columns:
//
//	prefix, name, class      required
//	rate                     minor units per minute in every band, or
//	rate_<band>              one column per band (rate_day, rate_evening, …)
//	first, next              increments in seconds (default 60 and 60)
//	setup, minimum           minor units (default 0)
//
// Rows are checked like YAML entries, and problems name the file, row and
// column. Blank lines and lines starting with # are skipped.
func (l *loader) deckFile(name, key string, line int, t *Tariff) ([]destination, *trie) {
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(l.dir, path)
	}
	f, err := yamlstrict.Open(path, yamlstrict.MaxDeck) // a regular file of at most 64 MiB
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			l.add(key, line, "cannot read the destination file %s: %v", path, pe.Err)
		} else {
			l.add(key, line, "the destination file %v", err) // names the path already
		}
		return nil, newTrie()
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		l.add(key, line, "%s has no header row naming the columns (prefix, name, class, rate, …)", name)
		return nil, newTrie()
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"prefix", "name", "class"} {
		if _, ok := cols[need]; !ok {
			l.add(key, line, "%s has no %q column", name, need)
		}
	}
	rateCol := make([]int, len(t.bands))
	if c, ok := cols["rate"]; ok {
		for i := range rateCol {
			rateCol[i] = c
		}
	} else {
		var missing []string
		for i, b := range t.bands {
			c, ok := cols["rate_"+strings.ToLower(b.name)]
			if !ok {
				missing = append(missing, "rate_"+b.name)
			}
			rateCol[i] = c
		}
		if len(missing) > 0 {
			l.add(key, line, "%s has neither a rate column nor %s", name, strings.Join(missing, ", "))
		}
	}
	if len(l.problems) > 0 {
		return nil, newTrie()
	}
	opt := func(n string) int {
		if c, ok := cols[n]; ok {
			return c
		}
		return -1
	}
	firstCol, nextCol, setupCol, minCol := opt("first"), opt("next"), opt("setup"), opt("minimum")
	tr := newTrie()
	var dests []destination
	where := func(row int, col string) string { return fmt.Sprintf("%s: row %d: %s", name, row, col) }
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row, _ := r.FieldPos(0)
		if errors.Is(err, yamlstrict.ErrTooLarge) {
			l.add(key, line, "%v", err) // it grew while read; the message names the path
			break
		}
		if err != nil {
			l.add(key, line, "%s: %v", name, err)
			break
		}
		field := func(c int) string {
			if c < 0 || c >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[c])
		}
		num := func(c int, col string, def, max int64) int64 {
			s := field(c)
			if s == "" {
				return def
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 || n > max {
				l.add(key, line, "%s %q is not a whole number from 0 to %d", where(row, col), s, max)
			}
			return n
		}
		d := destination{prefix: field(cols["prefix"]), name: field(cols["name"]), class: field(cols["class"])}
		if !gateway.IsDigits(d.prefix) {
			l.add(key, line, "%s %q is not a string of digits", where(row, "prefix"), d.prefix)
			continue
		}
		if d.name == "" || d.class == "" {
			l.add(key, line, "%s is empty: every destination needs a name and a class", where(row, "name or class"))
		}
		d.rates = make([]int64, len(t.bands))
		for i, c := range rateCol {
			d.rates[i] = num(c, "rate of band "+t.bands[i].name, -1, maxAmount)
			if d.rates[i] < 0 {
				l.add(key, line, "%s is empty", where(row, "rate of band "+t.bands[i].name))
			}
		}
		d.first = int(num(firstCol, "first", 60, maxSeconds))
		d.next = int(num(nextCol, "next", 60, maxSeconds))
		if d.first == 0 || d.next == 0 {
			l.add(key, line, "%s: increments are at least 1 second", where(row, "first/next"))
		}
		d.setup = num(setupCol, "setup", 0, maxAmount)
		d.minimum = num(minCol, "minimum", 0, maxAmount)
		if prev, fresh := tr.insert(d.prefix, int32(len(dests))); !fresh {
			l.add(key, line, "%s %q is listed twice (first for %s)", where(row, "prefix"), d.prefix, dests[prev].name)
			continue
		}
		dests = append(dests, d)
		if len(l.problems) > 100 {
			l.add(key, line, "%s: stopped after 100 problems", name)
			break
		}
	}
	return dests, tr
}
