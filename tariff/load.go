package tariff

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"callgate/gateway"
	"callgate/internal/yamlstrict"
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
	maxPercent = 1_000_000     // parts per 100,000 (100 % is 100,000): 1,000 %
	maxSeconds = 86_400        // an increment or the grace time
)

// Load reads the tariff file at path. The error is Problems when the file
// is readable but wrong. Load keeps no state: call it again to reload, and
// keep the old *Tariff if the new file is refused.
func Load(path string) (*Tariff, error) {
	data, err := yamlstrict.ReadFile(path, yamlstrict.MaxYAML) // a regular file of at most 4 MiB
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

// The tariff file as written, read strictly by internal/yamlstrict: unknown
// keys, keys given twice and values of the wrong type are its problems.
// Values stay as written (strings) so that their checks below can say what
// is wrong with them in the tariff's terms.
type (
	rawTariff struct {
		Version           string                         `yaml:"version"`
		Currency          string                         `yaml:"currency"`
		Rounding          string                         `yaml:"rounding"`
		Dialing           rawDialing                     `yaml:"dialing"`
		Bands             []rawBand                      `yaml:"bands"`
		Holidays          []string                       `yaml:"holidays"`
		HolidayBand       string                         `yaml:"holiday_band"`
		SplitAtBandChange string                         `yaml:"split_at_band_change"`
		Free              []rawFree                      `yaml:"free"`
		Destinations      yamlstrict.NameOrList[rawDest] `yaml:"destinations"`
		Guest             rawGuest                       `yaml:"guest"`
		Versions          []rawVersion                   `yaml:"versions"`
	}
	rawDialing struct {
		Strip                []string `yaml:"strip"`
		InternationalPrefix  string   `yaml:"international_prefix"`
		NationalPrefix       string   `yaml:"national_prefix"`
		CountryCode          string   `yaml:"country_code"`
		AreaCode             string   `yaml:"area_code"`
		NationalNumberLength string   `yaml:"national_number_length"`
		LocalNumberLength    string   `yaml:"local_number_length"`
	}
	rawBand struct {
		Name string   `yaml:"name"`
		Days []string `yaml:"days"`
		From string   `yaml:"from"`
		To   string   `yaml:"to"`
	}
	rawFree struct {
		Prefix string `yaml:"prefix"`
		Class  string `yaml:"class"`
	}
	rawDest struct {
		Prefix     string    `yaml:"prefix"`
		Name       string    `yaml:"name"`
		Class      string    `yaml:"class"`
		Rate       yaml.Node `yaml:"rate"` // one amount, or one per band: the bands are the tariff's own
		Increments []string  `yaml:"increments"`
		Setup      string    `yaml:"setup"`
		Minimum    string    `yaml:"minimum"`
	}
	rawRules struct {
		MarkupPercent string `yaml:"markup_percent"`
		Surcharge     string `yaml:"surcharge"`
		TaxPercent    string `yaml:"tax_percent"`
		GraceSeconds  string `yaml:"grace_seconds"`
	}
	rawGuest struct {
		rawRules `yaml:",inline"`
		Classes  map[string]rawRules `yaml:"classes"`
	}
	rawVersion struct {
		EffectiveFrom string                         `yaml:"effective_from"`
		Destinations  yamlstrict.NameOrList[rawDest] `yaml:"destinations"`
	}
)

type loader struct {
	problems Problems
	dir      string           // where relative destination files are
	lines    yamlstrict.Lines // the line of every key in the file
}

func (l *loader) add(key string, line int, format string, args ...any) {
	l.problems = append(l.problems, Problem{Key: key, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// has reports whether the file gives key; line is the line of key or of
// its nearest parent in the file.
func (l *loader) has(key string) bool { _, ok := l.lines[key]; return ok }
func (l *loader) line(key string) int { return l.lines.Of(key) }

// reported reports whether key has a problem already (a value of the wrong
// type), so that its checks need not add another.
func (l *loader) reported(key string) bool {
	return slices.ContainsFunc(l.problems, func(p Problem) bool { return p.Key == key })
}

// amount reads a non-negative whole number of minor units (or seconds).
func (l *loader) amount(s, path string, max int64) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		l.add(path, l.line(path), "%q is not a whole number of minor units", s)
		return 0, false
	case n < 0:
		l.add(path, l.line(path), "%d is negative: amounts are 0 or more", n)
		return 0, false
	case n > max:
		l.add(path, l.line(path), "%d is above the limit of %d", n, max)
		return 0, false
	}
	return n, true
}

// percent reads a percentage with at most three decimals as parts per
// 100,000 ("8.5" → 8500).
func (l *loader) percent(s, path string) (int64, bool) {
	p, msg := parsePercent(s)
	if msg != "" {
		l.add(path, l.line(path), "%q %s", s, msg)
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
		return 0, "is above 1,000 %, the most a percentage may be"
	}
	return p, ""
}

// digits reads a string of digits: a prefix or a dialing code.
func (l *loader) digits(s, path string, allowEmpty bool) (string, bool) {
	if (s == "" && !allowEmpty) || (s != "" && !gateway.IsDigits(s)) {
		l.add(path, l.line(path), "%q is not a string of digits", s)
		return "", false
	}
	return s, true
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (l *loader) file(data []byte) *Tariff {
	var raw rawTariff
	read := yamlstrict.Decode(data, &raw)
	l.lines = read.Lines
	for _, p := range read.Problems {
		l.problems = append(l.problems, Problem(p))
	}
	if read.Empty {
		l.add("(file)", 0, "is empty: a tariff needs at least version, currency, bands and destinations")
		return nil
	}
	if read.Partial {
		return nil // what was left unread would show up below as missing
	}
	root := read.Line
	t := &Tariff{Rounding: RoundUp, holidays: map[int]bool{}}

	if !l.has("version") {
		l.add("version", root, "missing: write version: 1")
	} else if raw.Version != "1" {
		l.add("version", l.line("version"), "%q is not a tariff version this gateway reads: use version: 1", raw.Version)
	}
	if !l.has("currency") {
		l.add("currency", root, "missing: give the ISO 4217 code the amounts are in, e.g. USD")
	} else {
		if _, known := MinorDigits(raw.Currency); !known {
			l.add("currency", l.line("currency"), "%q is not an ISO 4217 currency code (USD, EUR, GBP, …)", raw.Currency)
		}
		t.Currency = raw.Currency
	}
	if l.has("rounding") {
		r, valid := roundings[raw.Rounding]
		if !valid {
			l.add("rounding", l.line("rounding"), "%q is not one of up, half_up, down", raw.Rounding)
		}
		t.Rounding = r
	}
	if l.has("dialing") {
		l.dialing(raw.Dialing, t)
	} else {
		l.add("dialing", root, "missing: say how dialed digits become E.164 numbers (international_prefix, national_prefix, country_code, …)")
	}
	l.bands(raw.Bands, root, t)
	l.holidays(raw, t)
	if l.has("split_at_band_change") {
		b, err := strconv.ParseBool(raw.SplitAtBandChange)
		if err != nil {
			l.add("split_at_band_change", l.line("split_at_band_change"), "%q is not true or false", raw.SplitAtBandChange)
		}
		t.split = b
	}
	l.free(raw.Free, t)
	base := edition{name: "base"}
	if l.has("destinations") {
		base.dests, base.trie = l.destinations(raw.Destinations, "destinations", t)
	} else {
		l.add("destinations", root, "missing: list the destinations with prefix, name, class, rate")
	}
	t.editions = []edition{base}
	l.versions(raw.Versions, t)
	l.guest(raw.Guest, t)
	return t
}

func (l *loader) dialing(raw rawDialing, t *Tariff) {
	d := &t.dialing
	for i, s := range raw.Strip {
		if v, ok := l.digits(s, fmt.Sprintf("dialing.strip[%d]", i), false); ok {
			d.strip = append(d.strip, v)
		}
	}
	str := func(key, value string, target *string, required bool) {
		if !l.has("dialing." + key) {
			if required {
				l.add("dialing."+key, l.line("dialing"), "missing")
			}
			return
		}
		if s, ok := l.digits(value, "dialing."+key, !required); ok {
			*target = s
		}
	}
	str("international_prefix", raw.InternationalPrefix, &d.intl, true)
	str("national_prefix", raw.NationalPrefix, &d.national, false)
	str("country_code", raw.CountryCode, &d.country, true)
	str("area_code", raw.AreaCode, &d.area, false)
	length := func(key, value string, target *int) {
		if l.has("dialing." + key) {
			if n, ok := l.amount(value, "dialing."+key, 20); ok {
				*target = int(n)
			}
		}
	}
	length("national_number_length", raw.NationalNumberLength, &d.nationalLen)
	length("local_number_length", raw.LocalNumberLength, &d.localLen)
	if d.localLen > 0 && d.area == "" {
		l.add("dialing.local_number_length", l.line("dialing"), "needs dialing.area_code: local numbers get country and area code")
	}
}

func (l *loader) bands(raw []rawBand, root int, t *Tariff) {
	if !l.has("bands") {
		l.add("bands", root, "missing: list at least one band, e.g. - name: day")
		return
	}
	if len(raw) == 0 && !l.reported("bands") {
		l.add("bands", l.line("bands"), "is empty: list at least one band, e.g. - name: day")
	}
	names := map[string]int{}
	for i, rb := range raw {
		path := fmt.Sprintf("bands[%d]", i)
		b := band{from: -1, to: -1}
		if !l.has(path + ".name") {
			l.add(path, l.line(path), "has no name")
		} else {
			line := l.line(path + ".name")
			if rb.Name == "" {
				l.add(path+".name", line, "is empty")
			} else if first, dup := names[rb.Name]; dup {
				l.add(path+".name", line, "band %q is defined twice (first on line %d)", rb.Name, first)
			}
			names[rb.Name] = line
			b.name = rb.Name
		}
		for j, dn := range rb.Days {
			day, ok := weekdays[strings.ToLower(dn)]
			if !ok {
				key := fmt.Sprintf("%s.days[%d]", path, j)
				l.add(key, l.line(key), "%q is not a day: use mon, tue, wed, thu, fri, sat, sun", dn)
				continue
			}
			b.days |= 1 << day
		}
		hasFrom, hasTo := l.has(path+".from"), l.has(path+".to")
		if hasFrom != hasTo {
			l.add(path, l.line(path), "has only one of from and to: give both (\"18:00\" to \"08:00\"), or neither for the whole day")
		}
		for key, v := range map[string]struct {
			s      string
			target *int
		}{"from": {rb.From, &b.from}, "to": {rb.To, &b.to}} {
			if l.has(path + "." + key) {
				mins, valid := clockMinutes(v.s)
				if !valid {
					l.add(path+"."+key, l.line(path+"."+key), "%q is not a time of day like \"18:00\"", v.s)
				}
				*v.target = mins
			}
		}
		if hasFrom && hasTo && b.from >= 0 && b.from == b.to {
			l.add(path, l.line(path), "from and to are both %s: leave both out for the whole day", formatMinutes(b.from))
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
					l.add("bands", l.line("bands"), "no band covers %s %s: end the list with a band that has no days and no from/to", d, formatMinutes(sod/60))
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

func (l *loader) holidays(raw rawTariff, t *Tariff) {
	t.holidayBand = -1
	for i, s := range raw.Holidays {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			key := fmt.Sprintf("holidays[%d]", i)
			l.add(key, l.line(key), "%q is not a date like 2026-12-25", s)
			continue
		}
		t.holidays[ymd(d)] = true
	}
	if l.has("holiday_band") {
		t.holidayBand = t.bandIndex(raw.HolidayBand)
		if t.holidayBand < 0 {
			l.add("holiday_band", l.line("holiday_band"), "%q is not the name of a band: use one of %s", raw.HolidayBand, strings.Join(t.bandNames(), ", "))
		}
	} else if len(t.holidays) > 0 {
		l.add("holiday_band", l.line("holidays"), "missing: holidays are listed, so say which band they use")
	}
}

func (l *loader) free(raw []rawFree, t *Tariff) {
	t.freeTrie = newTrie()
	for i, rf := range raw {
		path := fmt.Sprintf("free[%d]", i)
		var f freeNumber
		if !l.has(path + ".prefix") {
			l.add(path, l.line(path), "has no prefix")
			continue
		}
		var ok bool
		if f.prefix, ok = l.digits(rf.Prefix, path+".prefix", false); !ok {
			continue
		}
		if !l.has(path + ".class") {
			l.add(path, l.line(path), "has no class (e.g. emergency, toll-free)")
		} else if f.class = rf.Class; f.class == "" {
			l.add(path+".class", l.line(path+".class"), "is empty")
		}
		if prev, fresh := t.freeTrie.insert(f.prefix, int32(len(t.free))); !fresh {
			l.add(path+".prefix", l.line(path+".prefix"), "prefix %q is listed twice in free (first as free[%d])", f.prefix, prev)
			continue
		}
		t.free = append(t.free, f)
	}
}

func (l *loader) destinations(raw yamlstrict.NameOrList[rawDest], path string, t *Tariff) ([]destination, *trie) {
	if raw.IsName {
		return l.deckFile(raw.Name, path, l.line(path), t)
	}
	tr := newTrie()
	var dests []destination
	for i, rd := range raw.List {
		p := fmt.Sprintf("%s[%d]", path, i)
		d := destination{first: 60, next: 60}
		if !l.has(p + ".prefix") {
			l.add(p, l.line(p), "has no prefix")
		} else {
			d.prefix, _ = l.digits(rd.Prefix, p+".prefix", false)
		}
		if d.name = rd.Name; d.name == "" {
			l.add(p+".name", l.line(p), "missing: give the destination a name for the guest's bill")
		}
		if d.class = rd.Class; d.class == "" {
			l.add(p+".class", l.line(p), "missing: give a class such as local, national, international, mobile")
		}
		d.rates = l.rate(rd.Rate, p, t)
		if l.has(p + ".increments") {
			var inc []int64
			for j, x := range rd.Increments {
				ip := fmt.Sprintf("%s.increments[%d]", p, j)
				if s, ok := l.amount(x, ip, maxSeconds); ok {
					if s == 0 {
						l.add(ip, l.line(ip), "is 0: increments are at least 1 second")
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
				if len(rd.Increments) != 1 && len(rd.Increments) != 2 && !l.reported(p+".increments") {
					l.add(p+".increments", l.line(p+".increments"), "has %d values: give [first block, each further block] in seconds, e.g. [60, 6]", len(rd.Increments))
				}
			}
		}
		for key, v := range map[string]struct {
			s      string
			target *int64
		}{"setup": {rd.Setup, &d.setup}, "minimum": {rd.Minimum, &d.minimum}} {
			if l.has(p + "." + key) {
				*v.target, _ = l.amount(v.s, p+"."+key, maxAmount)
			}
		}
		if d.prefix != "" {
			if prev, fresh := tr.insert(d.prefix, int32(len(dests))); !fresh {
				l.add(p+".prefix", l.line(p+".prefix"), "prefix %q is listed twice in %s (first as %s[%d])", d.prefix, path, path, prev)
				continue
			}
		}
		dests = append(dests, d)
	}
	return dests, tr
}

// rate reads a destination's rate: one number for every band, or a section
// that names every band exactly once. Its keys are the tariff's own band
// names, no Go type's fields, so they are checked here by hand.
func (l *loader) rate(n yaml.Node, p string, t *Tariff) []int64 {
	key := p + ".rate"
	if !l.has(key) {
		l.add(key, l.line(p), "missing: minor units per minute, one number or one per band")
		return nil
	}
	rates := make([]int64, len(t.bands))
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = *n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		r, _ := l.amount(n.Value, key, maxAmount)
		for i := range rates {
			rates[i] = r
		}
		return rates
	case yaml.MappingNode:
	default:
		l.add(key, l.line(key), "is a list, want one amount or a section with one per band")
		return nil
	}
	names := t.bandNames()
	given := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch _, dup := given[k.Value]; {
		case !slices.Contains(names, k.Value):
			l.add(key+"."+k.Value, k.Line, "unknown key; the keys allowed here are %s", strings.Join(names, ", "))
		case dup:
			l.add(key+"."+k.Value, k.Line, "given twice: keep one")
		case v.Kind != yaml.ScalarNode:
			l.add(key+"."+k.Value, k.Line, "is not a single amount")
		default:
			given[k.Value] = v.Value
		}
	}
	var missing []string
	for i, b := range t.bands {
		s, ok := given[b.name]
		if !ok {
			missing = append(missing, b.name)
			continue
		}
		rates[i], _ = l.amount(s, key+"."+b.name, maxAmount)
	}
	if len(missing) > 0 {
		l.add(key, l.line(key), "names no rate for band %s: give every band a rate, or one number for all", strings.Join(missing, ", "))
	}
	return rates
}

func (l *loader) versions(raw []rawVersion, t *Tariff) {
	seen := map[time.Time]int{}
	for i, rv := range raw {
		p := fmt.Sprintf("versions[%d]", i)
		var ed edition
		if !l.has(p + ".effective_from") {
			l.add(p, l.line(p), "has no effective_from (local time it starts, like \"2027-01-01T00:00:00\")")
		} else {
			s, line := rv.EffectiveFrom, l.line(p+".effective_from")
			from, err := time.Parse(timeLayout, s)
			if err != nil {
				if d, err2 := time.Parse("2006-01-02", s); err2 == nil {
					from, err = d, nil
				}
			}
			if err != nil {
				l.add(p+".effective_from", line, "%q is not a local time like \"2027-01-01T00:00:00\"", s)
			} else if first, dup := seen[from]; dup {
				l.add(p+".effective_from", line, "two editions start at %s (the other on line %d)", s, first)
			}
			seen[from] = line
			ed.from, ed.name = from, from.Format(timeLayout)
		}
		if l.has(p + ".destinations") {
			ed.dests, ed.trie = l.destinations(rv.Destinations, p+".destinations", t)
		} else {
			l.add(p, l.line(p), "has no destinations: an edition replaces the destination list")
		}
		t.editions = append(t.editions, ed)
	}
	sort.SliceStable(t.editions[1:], func(i, j int) bool { return t.editions[1+i].from.Before(t.editions[1+j].from) })
}

func (l *loader) guest(raw rawGuest, t *Tariff) {
	if !l.has("guest") {
		return // no markup, surcharge, tax or grace: the guest pays the carrier cost
	}
	t.guest = l.rules(raw.rawRules, "guest", guestRules{})
	t.classes = map[string]guestRules{}
	for name, r := range raw.Classes {
		t.classes[name] = l.rules(r, "guest.classes."+name, t.guest)
	}
}

// rules reads a guest block over base: what it does not name, base keeps.
func (l *loader) rules(raw rawRules, p string, base guestRules) guestRules {
	r := base
	if l.has(p + ".markup_percent") {
		r.markup, _ = l.percent(raw.MarkupPercent, p+".markup_percent")
	}
	if l.has(p + ".tax_percent") {
		r.tax, _ = l.percent(raw.TaxPercent, p+".tax_percent")
	}
	if l.has(p + ".surcharge") {
		r.surcharge, _ = l.amount(raw.Surcharge, p+".surcharge", maxAmount)
	}
	if l.has(p + ".grace_seconds") {
		g, _ := l.amount(raw.GraceSeconds, p+".grace_seconds", maxSeconds)
		r.grace = int(g)
	}
	return r
}
