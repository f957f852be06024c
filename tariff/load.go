package tariff

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"callgate/gateway"
)

// Problem is one thing wrong with a tariff file; Problems all of them (a
// file with any is refused as a whole).
type (
	Problem  = gateway.Problem
	Problems = gateway.Problems
)

// Limits that keep every amount far from integer overflow: no real tariff
// comes near them.
const (
	maxAmount  = 1_000_000_000 // minor units: a rate, setup, minimum or surcharge
	maxPercent = 100_000_000   // parts per 100,000: 1,000 %
	maxSeconds = 86_400        // an increment or the grace time
)

// Load reads the tariff file at path. The error is Problems when the file
// is readable but wrong. Load keeps no state: call it again to reload, and
// keep the old *Tariff if the new file is refused.
func Load(path string) (*Tariff, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read tariff file: %w", err)
	}
	return parse(data, filepath.Dir(path))
}

// Parse reads a tariff from the bytes of a tariff file. Destination files it
// names are read relative to the current folder.
func Parse(data []byte) (*Tariff, error) { return parse(data, ".") }

func parse(data []byte, dir string) (*Tariff, error) {
	l := &loader{dir: dir}
	t := l.file(data)
	if len(l.problems) > 0 {
		return nil, l.problems
	}
	return t, nil
}

type loader struct {
	problems Problems
	dir      string // where relative destination files are
}

func (l *loader) add(key string, line int, format string, args ...any) {
	l.problems = append(l.problems, Problem{Key: key, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// entry is a key and its value in a YAML mapping.
type entry struct {
	key, val *yaml.Node
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section of keys"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// mapping returns the entries of mapping node n by key, reporting keys that
// are not allowed and keys given twice.
func (l *loader) mapping(n *yaml.Node, path string, allowed ...string) map[string]entry {
	n = resolve(n)
	m := map[string]entry{}
	if n.Kind != yaml.MappingNode {
		l.add(path, n.Line, "is %s, want a section of keys", describe(n))
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		if !slices.Contains(allowed, k.Value) {
			l.add(key, k.Line, "unknown key; the keys allowed here are %s", strings.Join(allowed, ", "))
			continue
		}
		if first, dup := m[k.Value]; dup {
			l.add(key, k.Line, "given twice (first on line %d): keep one", first.key.Line)
			continue
		}
		m[k.Value] = entry{k, resolve(v)}
	}
	return m
}

func (l *loader) scalar(e entry, path string) (string, bool) {
	if e.val.Kind != yaml.ScalarNode {
		l.add(path, e.key.Line, "is %s, want a single value", describe(e.val))
		return "", false
	}
	return e.val.Value, true
}

// amount reads a non-negative whole number of minor units (or seconds).
func (l *loader) amount(e entry, path string, max int64) (int64, bool) {
	s, ok := l.scalar(e, path)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		l.add(path, e.val.Line, "%q is not a whole number of minor units", s)
		return 0, false
	case n < 0:
		l.add(path, e.val.Line, "%d is negative: amounts are 0 or more", n)
		return 0, false
	case n > max:
		l.add(path, e.val.Line, "%d is above the limit of %d", n, max)
		return 0, false
	}
	return n, true
}

// percent reads a percentage with at most three decimals as parts per
// 100,000 ("8.5" → 8500).
func (l *loader) percent(e entry, path string) (int64, bool) {
	s, ok := l.scalar(e, path)
	if !ok {
		return 0, false
	}
	p, msg := parsePercent(s)
	if msg != "" {
		l.add(path, e.val.Line, "%q %s", s, msg)
		return 0, false
	}
	return p, true
}

func parsePercent(s string) (int64, string) {
	if strings.HasPrefix(s, "-") {
		return 0, "is negative: percentages are 0 or more"
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 3 {
		return 0, "has more than three decimals: round it to three (e.g. 8.875)"
	}
	if whole == "" || !gateway.IsDigits(whole) || (frac != "" && !gateway.IsDigits(frac)) || len(whole) > 6 {
		return 0, `is not a percentage like "12.5"`
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	p := w*1000 + f
	if p > maxPercent {
		return 0, "is above 1000 %"
	}
	return p, ""
}

// digits reads a string of digits: a prefix or a dialing code.
func (l *loader) digits(e entry, path string, allowEmpty bool) (string, bool) {
	s, ok := l.scalar(e, path)
	if !ok {
		return "", false
	}
	if (s == "" && !allowEmpty) || (s != "" && !gateway.IsDigits(s)) {
		l.add(path, e.val.Line, "%q is not a string of digits", s)
		return "", false
	}
	return s, true
}

func (l *loader) list(e entry, path string) []*yaml.Node {
	if e.val.Kind != yaml.SequenceNode {
		l.add(path, e.key.Line, "is %s, want a list", describe(e.val))
		return nil
	}
	return e.val.Content
}

func item(n *yaml.Node, parent entry) entry {
	return entry{key: &yaml.Node{Line: n.Line}, val: resolve(n)}
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (l *loader) file(data []byte) *Tariff {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.add("(file)", 0, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	if len(doc.Content) == 0 {
		l.add("(file)", 0, "is empty: a tariff needs at least version, currency, bands and destinations")
		return nil
	}
	root := doc.Content[0]
	top := l.mapping(root, "", "version", "currency", "rounding", "dialing", "bands", "holidays",
		"holiday_band", "split_at_band_change", "free", "destinations", "guest", "versions")
	t := &Tariff{Rounding: RoundUp, holidays: map[int]bool{}}

	if e, ok := top["version"]; !ok {
		l.add("version", root.Line, "missing: write version: 1")
	} else if s, ok := l.scalar(e, "version"); ok && s != "1" {
		l.add("version", e.val.Line, "%q is not a tariff version this gateway reads: use version: 1", s)
	}
	if e, ok := top["currency"]; !ok {
		l.add("currency", root.Line, "missing: give the ISO 4217 code the amounts are in, e.g. USD")
	} else if s, ok := l.scalar(e, "currency"); ok {
		if _, known := MinorDigits(s); !known {
			l.add("currency", e.val.Line, "%q is not an ISO 4217 currency code (USD, EUR, GBP, …)", s)
		}
		t.Currency = s
	}
	if e, ok := top["rounding"]; ok {
		if s, ok := l.scalar(e, "rounding"); ok {
			r, valid := roundings[s]
			if !valid {
				l.add("rounding", e.val.Line, "%q is not one of up, half_up, down", s)
			}
			t.Rounding = r
		}
	}
	if e, ok := top["dialing"]; ok {
		l.dialing(e, t)
	} else {
		l.add("dialing", root.Line, "missing: say how dialed digits become E.164 numbers (international_prefix, national_prefix, country_code, …)")
	}
	l.bands(top, root, t)
	l.holidays(top, t)
	if e, ok := top["split_at_band_change"]; ok {
		if s, ok := l.scalar(e, "split_at_band_change"); ok {
			b, err := strconv.ParseBool(s)
			if err != nil {
				l.add("split_at_band_change", e.val.Line, "%q is not true or false", s)
			}
			t.split = b
		}
	}
	l.free(top, t)
	base := edition{name: "base"}
	if e, ok := top["destinations"]; ok {
		base.dests, base.trie = l.destinations(e, "destinations", t)
	} else {
		l.add("destinations", root.Line, "missing: list the destinations with prefix, name, class, rate")
	}
	t.editions = []edition{base}
	l.versions(top, t)
	l.guest(top, t)
	return t
}

func (l *loader) dialing(e entry, t *Tariff) {
	m := l.mapping(e.val, "dialing", "strip", "international_prefix", "national_prefix", "country_code",
		"area_code", "national_number_length", "local_number_length")
	d := &t.dialing
	if s, ok := m["strip"]; ok {
		for i, n := range l.list(s, "dialing.strip") {
			if v, ok := l.digits(item(n, s), fmt.Sprintf("dialing.strip[%d]", i), false); ok {
				d.strip = append(d.strip, v)
			}
		}
	}
	str := func(key string, target *string, required bool) {
		v, ok := m[key]
		if !ok {
			if required {
				l.add("dialing."+key, e.key.Line, "missing")
			}
			return
		}
		if s, ok := l.digits(v, "dialing."+key, !required); ok {
			*target = s
		}
	}
	str("international_prefix", &d.intl, true)
	str("national_prefix", &d.national, false)
	str("country_code", &d.country, true)
	str("area_code", &d.area, false)
	length := func(key string, target *int) {
		if v, ok := m[key]; ok {
			if n, ok := l.amount(v, "dialing."+key, 20); ok {
				*target = int(n)
			}
		}
	}
	length("national_number_length", &d.nationalLen)
	length("local_number_length", &d.localLen)
	if d.localLen > 0 && d.area == "" {
		l.add("dialing.local_number_length", e.key.Line, "needs dialing.area_code: local numbers get country and area code")
	}
}

func (l *loader) bands(top map[string]entry, root *yaml.Node, t *Tariff) {
	e, ok := top["bands"]
	if !ok {
		l.add("bands", root.Line, "missing: list at least one band, e.g. - name: day")
		return
	}
	nodes := l.list(e, "bands")
	if e.val.Kind == yaml.SequenceNode && len(nodes) == 0 {
		l.add("bands", e.key.Line, "is empty: list at least one band, e.g. - name: day")
	}
	names := map[string]int{}
	for i, n := range nodes {
		path := fmt.Sprintf("bands[%d]", i)
		m := l.mapping(n, path, "name", "days", "from", "to")
		b := band{from: -1, to: -1}
		if v, ok := m["name"]; !ok {
			l.add(path, n.Line, "has no name")
		} else if s, ok := l.scalar(v, path+".name"); ok {
			if s == "" {
				l.add(path+".name", v.val.Line, "is empty")
			} else if first, dup := names[s]; dup {
				l.add(path+".name", v.val.Line, "band %q is defined twice (first on line %d)", s, first)
			}
			names[s] = v.val.Line
			b.name = s
		}
		if v, ok := m["days"]; ok {
			for j, dn := range l.list(v, path+".days") {
				day, ok := weekdays[strings.ToLower(dn.Value)]
				if !ok {
					l.add(fmt.Sprintf("%s.days[%d]", path, j), dn.Line, "%q is not a day: use mon, tue, wed, thu, fri, sat, sun", dn.Value)
					continue
				}
				b.days |= 1 << day
			}
		}
		_, hasFrom := m["from"]
		_, hasTo := m["to"]
		if hasFrom != hasTo {
			l.add(path, n.Line, "has only one of from and to: give both (\"18:00\" to \"08:00\"), or neither for the whole day")
		}
		for key, target := range map[string]*int{"from": &b.from, "to": &b.to} {
			if v, ok := m[key]; ok {
				if s, ok := l.scalar(v, path+"."+key); ok {
					mins, valid := clockMinutes(s)
					if !valid {
						l.add(path+"."+key, v.val.Line, "%q is not a time of day like \"18:00\"", s)
					}
					*target = mins
				}
			}
		}
		if hasFrom && hasTo && b.from >= 0 && b.from == b.to {
			l.add(path, n.Line, "from and to are both %s: leave both out for the whole day", formatMinutes(b.from))
		}
		t.bands = append(t.bands, b)
	}
	edges := map[int]bool{}
	for _, b := range t.bands {
		for _, m := range []int{b.from, b.to} {
			if m > 0 {
				edges[m*60] = true
			}
		}
	}
	for s := range edges {
		t.edges = append(t.edges, s)
	}
	sort.Ints(t.edges)
	if len(l.problems) == 0 && len(t.bands) > 0 {
		// Every moment of every weekday must fall in some band.
		for d := time.Sunday; d <= time.Saturday; d++ {
			for _, sod := range append([]int{0}, t.edges...) {
				if t.bandOn(d, sod) < 0 {
					l.add("bands", e.key.Line, "no band covers %s %s: end the list with a band that has no days and no from/to", d, formatMinutes(sod/60))
					return
				}
			}
		}
	}
}

func clockMinutes(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !gateway.IsDigits(h) || !gateway.IsDigits(m) {
		return -1, false
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return -1, false
	}
	return hh*60 + mm, true
}

func formatMinutes(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func (l *loader) holidays(top map[string]entry, t *Tariff) {
	t.holidayBand = -1
	e, ok := top["holidays"]
	if ok {
		for i, n := range l.list(e, "holidays") {
			d, err := time.Parse("2006-01-02", n.Value)
			if err != nil {
				l.add(fmt.Sprintf("holidays[%d]", i), n.Line, "%q is not a date like 2026-12-25", n.Value)
				continue
			}
			t.holidays[ymd(d)] = true
		}
	}
	hb, hasBand := top["holiday_band"]
	if hasBand {
		if s, ok := l.scalar(hb, "holiday_band"); ok {
			t.holidayBand = t.bandIndex(s)
			if t.holidayBand < 0 {
				l.add("holiday_band", hb.val.Line, "%q is not the name of a band: use one of %s", s, strings.Join(t.bandNames(), ", "))
			}
		}
	} else if len(t.holidays) > 0 {
		l.add("holiday_band", e.key.Line, "missing: holidays are listed, so say which band they use")
	}
}

func (l *loader) free(top map[string]entry, t *Tariff) {
	t.freeTrie = newTrie()
	e, ok := top["free"]
	if !ok {
		return
	}
	for i, n := range l.list(e, "free") {
		path := fmt.Sprintf("free[%d]", i)
		m := l.mapping(n, path, "prefix", "class")
		var f freeNumber
		p, ok := m["prefix"]
		if !ok {
			l.add(path, n.Line, "has no prefix")
			continue
		}
		if f.prefix, ok = l.digits(p, path+".prefix", false); !ok {
			continue
		}
		if c, ok := m["class"]; !ok {
			l.add(path, n.Line, "has no class (e.g. emergency, toll-free)")
		} else if f.class, ok = l.scalar(c, path+".class"); ok && f.class == "" {
			l.add(path+".class", c.val.Line, "is empty")
		}
		if prev, fresh := t.freeTrie.insert(f.prefix, int32(len(t.free))); !fresh {
			l.add(path+".prefix", p.val.Line, "prefix %q is listed twice in free (first as free[%d])", f.prefix, prev)
			continue
		}
		t.free = append(t.free, f)
	}
}

func (l *loader) destinations(e entry, path string, t *Tariff) ([]destination, *trie) {
	if e.val.Kind == yaml.ScalarNode {
		return l.deckFile(e.val.Value, path, e.val.Line, t)
	}
	tr := newTrie()
	var dests []destination
	for i, n := range l.list(e, path) {
		p := fmt.Sprintf("%s[%d]", path, i)
		m := l.mapping(n, p, "prefix", "name", "class", "rate", "increments", "setup", "minimum")
		d := destination{first: 60, next: 60}
		pe, ok := m["prefix"]
		if !ok {
			l.add(p, n.Line, "has no prefix")
		} else {
			d.prefix, _ = l.digits(pe, p+".prefix", false)
		}
		if v, ok := m["name"]; ok {
			d.name, _ = l.scalar(v, p+".name")
		}
		if d.name == "" {
			l.add(p+".name", n.Line, "missing: give the destination a name for the guest's bill")
		}
		if v, ok := m["class"]; ok {
			d.class, _ = l.scalar(v, p+".class")
		}
		if d.class == "" {
			l.add(p+".class", n.Line, "missing: give a class such as local, national, international, mobile")
		}
		d.rates = l.rate(m, n, p, t)
		if v, ok := m["increments"]; ok {
			var inc []int64
			for j, x := range l.list(v, p+".increments") {
				ip := fmt.Sprintf("%s.increments[%d]", p, j)
				if s, ok := l.amount(item(x, v), ip, maxSeconds); ok {
					if s == 0 {
						l.add(ip, x.Line, "is 0: increments are at least 1 second")
					}
					inc = append(inc, s)
				}
			}
			switch len(inc) {
			case 1:
				d.first, d.next = int(inc[0]), int(inc[0])
			case 2:
				d.first, d.next = int(inc[0]), int(inc[1])
			default:
				if v.val.Kind == yaml.SequenceNode && len(v.val.Content) != 1 && len(v.val.Content) != 2 {
					l.add(p+".increments", v.key.Line, "has %d values: give [first block, each further block] in seconds, e.g. [60, 6]", len(v.val.Content))
				}
			}
		}
		for key, target := range map[string]*int64{"setup": &d.setup, "minimum": &d.minimum} {
			if v, ok := m[key]; ok {
				*target, _ = l.amount(v, p+"."+key, maxAmount)
			}
		}
		if d.prefix != "" {
			if prev, fresh := tr.insert(d.prefix, int32(len(dests))); !fresh {
				l.add(p+".prefix", pe.val.Line, "prefix %q is listed twice in %s (first as %s[%d])", d.prefix, path, path, prev)
				continue
			}
		}
		dests = append(dests, d)
	}
	return dests, tr
}

// rate reads a destination's rate: one number for every band, or a map that
// names every band exactly once.
func (l *loader) rate(m map[string]entry, n *yaml.Node, p string, t *Tariff) []int64 {
	v, ok := m["rate"]
	if !ok {
		l.add(p+".rate", n.Line, "missing: minor units per minute, one number or one per band")
		return nil
	}
	rates := make([]int64, len(t.bands))
	if v.val.Kind == yaml.ScalarNode {
		r, _ := l.amount(v, p+".rate", maxAmount)
		for i := range rates {
			rates[i] = r
		}
		return rates
	}
	bm := l.mapping(v.val, p+".rate", t.bandNames()...)
	// mapping reported names that are no band; now the bands not named.
	var missing []string
	for i, b := range t.bands {
		e, ok := bm[b.name]
		if !ok {
			missing = append(missing, b.name)
			continue
		}
		rates[i], _ = l.amount(e, p+".rate."+b.name, maxAmount)
	}
	if len(missing) > 0 {
		l.add(p+".rate", v.key.Line, "names no rate for band %s: give every band a rate, or one number for all", strings.Join(missing, ", "))
	}
	return rates
}

func (l *loader) versions(top map[string]entry, t *Tariff) {
	e, ok := top["versions"]
	if !ok {
		return
	}
	seen := map[time.Time]int{}
	for i, n := range l.list(e, "versions") {
		p := fmt.Sprintf("versions[%d]", i)
		m := l.mapping(n, p, "effective_from", "destinations")
		var ed edition
		if v, ok := m["effective_from"]; !ok {
			l.add(p, n.Line, "has no effective_from (local time it starts, like \"2027-01-01T00:00:00\")")
		} else if s, ok := l.scalar(v, p+".effective_from"); ok {
			from, err := time.Parse(timeLayout, s)
			if err != nil {
				if d, err2 := time.Parse("2006-01-02", s); err2 == nil {
					from, err = d, nil
				}
			}
			if err != nil {
				l.add(p+".effective_from", v.val.Line, "%q is not a local time like \"2027-01-01T00:00:00\"", s)
			} else if first, dup := seen[from]; dup {
				l.add(p+".effective_from", v.val.Line, "two editions start at %s (the other on line %d)", s, first)
			}
			seen[from] = v.val.Line
			ed.from, ed.name = from, from.Format(timeLayout)
		}
		if v, ok := m["destinations"]; ok {
			ed.dests, ed.trie = l.destinations(v, p+".destinations", t)
		} else {
			l.add(p, n.Line, "has no destinations: an edition replaces the destination list")
		}
		t.editions = append(t.editions, ed)
	}
	sort.SliceStable(t.editions[1:], func(i, j int) bool { return t.editions[1+i].from.Before(t.editions[1+j].from) })
}

func (l *loader) guest(top map[string]entry, t *Tariff) {
	e, ok := top["guest"]
	if !ok {
		return // no markup, surcharge, tax or grace: the guest pays the carrier cost
	}
	m := l.mapping(e.val, "guest", "markup_percent", "surcharge", "tax_percent", "grace_seconds", "classes")
	t.guest = l.rules(m, "guest", guestRules{})
	t.classes = map[string]guestRules{}
	if c, ok := m["classes"]; ok {
		n := c.val
		if n.Kind != yaml.MappingNode {
			l.add("guest.classes", c.key.Line, "is %s, want a section with one block per class", describe(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			p := "guest.classes." + name
			if _, dup := t.classes[name]; dup {
				l.add(p, n.Content[i].Line, "class %q is given twice", name)
				continue
			}
			om := l.mapping(n.Content[i+1], p, "markup_percent", "surcharge", "tax_percent", "grace_seconds")
			t.classes[name] = l.rules(om, p, t.guest)
		}
	}
}

// rules reads a guest block over base: what it does not name, base keeps.
func (l *loader) rules(m map[string]entry, p string, base guestRules) guestRules {
	r := base
	if v, ok := m["markup_percent"]; ok {
		r.markup, _ = l.percent(v, p+".markup_percent")
	}
	if v, ok := m["tax_percent"]; ok {
		r.tax, _ = l.percent(v, p+".tax_percent")
	}
	if v, ok := m["surcharge"]; ok {
		r.surcharge, _ = l.amount(v, p+".surcharge", maxAmount)
	}
	if v, ok := m["grace_seconds"]; ok {
		g, _ := l.amount(v, p+".grace_seconds", maxSeconds)
		r.grace = int(g)
	}
	return r
}
