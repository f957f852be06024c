package sim

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"callgate/gateway"
	"callgate/pms/fias"
)

// peer is one client connection and its link state.
type peer struct {
	s    *Sim
	conn fias.FrameConn
	name string

	// guarded by s.mu
	gotLD     bool
	lrs       map[string][]string // record type → declared field ids
	alive     bool
	resyncing bool
	waiting   string    // P# of the PS awaiting our PA
	waitSince time.Time // when it came
	gone      bool
	ending    bool // we sent LE
	awaitLA   bool // we described the link (DescribeOnLS) and wait for the client's LA

	once sync.Once
}

func (s *Sim) newPeer(c fias.FrameConn, name string) *peer {
	return &peer{s: s, conn: c, name: name, lrs: map[string][]string{}}
}

func (p *peer) close() {
	p.once.Do(func() { p.conn.Close() })
}

// send writes a record to the client; it reports errNoPeer when this peer
// is no longer the one connected.
func (p *peer) send(r fias.Record) error {
	s := p.s
	s.mu.Lock()
	gone := p.gone
	s.mu.Unlock()
	if gone {
		return errNoPeer
	}
	body, err := s.codec.Encode(r)
	if err != nil {
		return err
	}
	return p.conn.WriteFrame(body)
}

func (s *Sim) stamp(typ string) fias.Record {
	now := s.o.Now()
	return fias.NewRecord(typ, "DA", now.Format("060102"), "TI", now.Format("150405"))
}

func (s *Sim) serve(p *peer, tcp bool) {
	defer s.wg.Done()
	defer func() {
		p.close()
		s.mu.Lock()
		p.gone = true
		if s.peer == p {
			s.peer = nil
		}
		s.notifyLocked()
		s.mu.Unlock()
		s.log.Info().Str("client", p.name).Msg("client gone")
	}()
	if tcp {
		// IFC8 sends LS as soon as a client connects.
		if p.send(s.stamp("LS")) != nil {
			return
		}
	} else {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// On a serial line IFC8 sends LS until it is acknowledged.
			for p.send(s.stamp("LS")) != nil {
				s.mu.Lock()
				stop := p.gone || s.closed
				s.mu.Unlock()
				if stop {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	for {
		body, err := p.conn.ReadFrame()
		if err != nil {
			return
		}
		r, err := s.codec.Decode(body)
		if err != nil {
			s.violate("a frame that is not a FIAS record ("+err.Error()+")", nil)
			continue
		}
		if !p.handle(r) {
			return
		}
	}
}

// handle acts on one record from the client; false ends the connection.
func (p *peer) handle(r fias.Record) bool {
	s := p.s
	s.mu.Lock()
	alive, resyncing := p.alive, p.resyncing
	deaf := s.faults.Deaf
	s.mu.Unlock()
	if deaf {
		return true
	}
	if resyncing && !s.o.Protel && r.Type != "LE" {
		s.violate("a record sent while the resync runs (between DR and DE)", &r)
	}
	switch r.Type {
	case "LS":
		if !alive {
			p.send(s.stamp("LS"))
			return true
		}
		s.mu.Lock()
		last := s.lastAliveLS
		s.lastAliveLS = time.Now()
		s.aliveChecks++
		describe, wait := s.faults.DescribeOnLS, s.faults.DescribeWait
		s.notifyLocked()
		s.mu.Unlock()
		if s.o.AliveCheckMin > 0 && !last.IsZero() && time.Since(last) < s.o.AliveCheckMin {
			s.violate("an alive check (LS) sooner than "+s.o.AliveCheckMin.String()+" after the previous one", &r)
		}
		if describe {
			p.describe(wait)
			return true
		}
		p.send(s.stamp("LA"))
	case "LD":
		p.checkLD(r)
		s.mu.Lock()
		p.gotLD, p.alive = true, false
		p.lrs = map[string][]string{}
		s.notifyLocked()
		s.mu.Unlock()
	case "LR":
		p.checkLR(r)
	case "LA":
		s.mu.Lock()
		answered := p.awaitLA
		if answered {
			p.awaitLA = false
			s.described++
			s.notifyLocked()
		}
		s.mu.Unlock()
		if alive {
			return true // IFC8 does not answer LA while the link is alive
		}
		s.mu.Lock()
		ok := p.gotLD && len(p.lrs) > 0
		noLA := s.faults.NoLA
		s.mu.Unlock()
		if !ok {
			s.violate("LA before a link description (LD and at least one LR)", &r)
			p.send(s.stamp("LS"))
			return true
		}
		if noLA {
			return true
		}
		if p.send(s.stamp("LA")) != nil {
			return false
		}
		s.mu.Lock()
		p.alive = true
		s.aliveCount++
		pending := s.pending
		s.pending = nil
		s.notifyLocked()
		s.mu.Unlock()
		s.log.Info().Str("client", p.name).Msg("link alive")
		for _, g := range pending {
			p.sendData(g)
		}
		if s.o.Protel {
			// Protel streams its in-house guests after LA, without DS/DE.
			s.mu.Lock()
			recs := s.inHouseLocked()
			s.mu.Unlock()
			s.wg.Add(1)
			go p.resync(false, recs)
		}
	case "LE":
		s.mu.Lock()
		ending := p.ending
		s.mu.Unlock()
		if !ending {
			p.send(s.stamp("LE"))
		}
		return false
	case "LC":
		s.violate("LC is sent by the PMS, not the vendor", &r)
	default:
		if !alive {
			s.violate("a data record before the link is alive (LD, LRs, LA first)", &r)
			p.send(s.stamp("LS"))
			return true
		}
		if r.Type != "DR" {
			p.checkDeclared(r)
		}
		switch r.Type {
		case "DR":
			s.mu.Lock()
			ignore := s.faults.IgnoreDR
			if !ignore && !s.o.Protel {
				p.resyncing = true
			}
			recs := s.databaseLocked()
			s.mu.Unlock()
			if !ignore {
				s.wg.Add(1)
				go p.resync(!s.o.Protel, recs)
			}
		case "PS":
			return p.posting(r)
		default:
			s.violate("a record the simulated PMS does not take from a call-accounting vendor", &r)
		}
	}
	return true
}

// describe answers an alive check with the PMS's own link description
// (Faults.DescribeOnLS) and waits up to wait for the client's LA; without
// it the simulated PMS goes deaf, leaving the connection open.
func (p *peer) describe(wait time.Duration) {
	s := p.s
	if wait <= 0 {
		wait = 15 * time.Second
	}
	ld := s.stamp("LD")
	ld.Add("V#", "SIM")
	ld.Add("IF", "PM")
	recs := []fias.Record{ld}
	for _, ri := range []string{"GI", "GO", "GC", "PS", "PA", "NS", "NE", "DS", "DE"} {
		recs = append(recs, fias.NewRecord("LR", "RI", ri, "FL", "RNDATI"))
	}
	recs = append(recs, s.stamp("LA"))
	s.mu.Lock()
	p.awaitLA = true
	s.mu.Unlock()
	for _, r := range recs {
		if p.send(r) != nil {
			return
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if !s.sleep(wait) {
			return
		}
		s.mu.Lock()
		drop := p.awaitLA && !p.gone
		if drop {
			p.awaitLA = false
			s.faults.Deaf = true
			s.notifyLocked()
		}
		s.mu.Unlock()
		if drop {
			s.log.Warn().Str("client", p.name).Msg("the client did not answer the PMS's link description with LA: the simulated PMS stops answering")
		}
	}()
}

func (p *peer) checkLD(r fias.Record) {
	s := p.s
	if v, ok := r.Get("V#"); !ok || v == "" || len(v) > 10 {
		s.violate("LD without a vendor version (V#) of 1 to 10 characters", &r)
	}
	if v := r.Value("IF"); len(v) != 2 {
		s.violate("LD without a two-letter interface family (IF)", &r)
	}
	checkDATI(s, r)
}

func (p *peer) checkLR(r fias.Record) {
	s := p.s
	if len(r.Fields) != 2 || r.Fields[0].ID != "RI" || r.Fields[1].ID != "FL" {
		s.violate("LR must be exactly RI then FL", &r)
	}
	ri, fl := r.Value("RI"), r.Value("FL")
	if len(ri) != 2 || len(fl)%2 != 0 || fl == "" {
		s.violate("LR with a bad record id or field list", &r)
		return
	}
	var ids []string
	for i := 0; i < len(fl); i += 2 {
		ids = append(ids, fl[i:i+2])
	}
	s.mu.Lock()
	if !p.gotLD {
		s.mu.Unlock()
		s.violate("LR before LD", &r)
		return
	}
	if _, dup := p.lrs[ri]; dup {
		s.mu.Unlock()
		s.violate("a second LR for the same record type (one LR per type, the union of both directions)", &r)
		s.mu.Lock()
	}
	p.lrs[ri] = ids
	s.mu.Unlock()
}

// checkDeclared flags fields, or a record type, the client did not declare.
func (p *peer) checkDeclared(r fias.Record) {
	s := p.s
	s.mu.Lock()
	fl, ok := p.lrs[r.Type]
	s.mu.Unlock()
	if !ok {
		s.violate("a "+r.Type+" record without an LR for it", &r)
		return
	}
	for _, f := range r.Fields {
		if !slices.Contains(fl, f.ID) {
			s.violate("field "+f.ID+" is not in the LR for "+r.Type, &r)
		}
	}
}

func checkDATI(s *Sim, r fias.Record) {
	if _, ok := fias.ParseDateTime(r.Value("DA"), r.Value("TI")); !ok {
		s.violate(r.Type+" without a valid DA (YYMMDD) and TI (HHMMSS)", &r)
	}
}

// sendData sends a PMS data record, with only the fields the client
// declared for its type, or not at all when it declared none.
func (p *peer) sendData(r fias.Record) error {
	s := p.s
	s.mu.Lock()
	fl, ok := p.lrs[r.Type]
	shuffle, fill := s.faults.Shuffle, s.faults.FillDeclared
	s.mu.Unlock()
	if !ok {
		return nil
	}
	out := fias.Record{Type: r.Type}
	for _, f := range r.Fields {
		if slices.Contains(fl, f.ID) {
			out.Fields = append(out.Fields, f)
		}
	}
	if fill {
		for _, id := range fl {
			if !out.Has(id) {
				out.Add(id, "")
			}
		}
	}
	if shuffle {
		s.shuffle(out.Fields)
	}
	return p.send(out)
}

// shuffle mixes the fields' order, leaving GS and RO where they are (their
// places carry meaning in a room move).
func (s *Sim) shuffle(fs []fias.Field) {
	var idx []int
	for i, f := range fs {
		if f.ID != "GS" && f.ID != "RO" {
			idx = append(idx, i)
		}
	}
	s.mu.Lock()
	perm := s.rng.Perm(len(idx))
	s.mu.Unlock()
	moved := make([]fias.Field, len(idx))
	for i, j := range perm {
		moved[i] = fs[idx[j]]
	}
	for i, k := range idx {
		fs[k] = moved[i]
	}
}

// resync sends guest records: for a DR, DS, the database (a GI with SF for
// every guest, a GO with SF and no G# for every vacant room) and DE;
// without the brackets in Protel mode, and after LA in Protel mode the
// in-house list alone. Records are paced by Faults.ResyncDelay.
func (p *peer) resync(brackets bool, recs []fias.Record) {
	s := p.s
	defer s.wg.Done()
	s.mu.Lock()
	delay := s.faults.ResyncDelay
	s.mu.Unlock()
	pause := func() {
		if delay > 0 {
			time.Sleep(delay)
		}
	}
	if brackets {
		if p.send(s.stamp("DS")) != nil {
			return
		}
	}
	for _, r := range recs {
		pause()
		if err := p.sendData(r); errors.Is(err, errNoPeer) {
			return
		}
	}
	pause()
	if brackets {
		s.mu.Lock()
		p.resyncing = false
		s.notifyLocked()
		s.mu.Unlock()
		p.send(s.stamp("DE"))
	}
}

// checkPS validates a PS strictly and returns its problems.
func checkPS(r fias.Record) []string {
	var bad []string
	need := func(id string) (string, bool) {
		v, ok := r.Get(id)
		if !ok {
			bad = append(bad, "PS without "+id)
		}
		return v, ok
	}
	for _, f := range r.Fields {
		if n := len(r.All(f.ID)); n > 1 && f.ID != "MA" && f.ID != "M#" {
			bad = append(bad, "field "+f.ID+" given "+itoa(n)+" times")
			break
		}
	}
	if rn, ok := need("RN"); ok && (rn == "" || strings.TrimSpace(rn) != rn) {
		bad = append(bad, "RN empty or padded")
	}
	pt, _ := need("PT")
	switch pt {
	case "C":
		if ta, ok := need("TA"); ok && !isAmount(ta) {
			bad = append(bad, "TA is not an integer of at most 15 characters")
		}
	case "T":
		if !r.Has("MP") && !(r.Has("DU") && r.Has("DD")) {
			bad = append(bad, "PT T needs MP, or DU and DD")
		}
	case "M":
		if !r.Has("MA") || !r.Has("M#") {
			bad = append(bad, "PT M needs MA and M#")
		}
	default:
		bad = append(bad, "PT is not C, T or M")
	}
	if da, ok := need("DA"); ok {
		if _, good := fias.ParseDate(da); !good {
			bad = append(bad, "DA is not YYMMDD")
		}
	}
	if ti, ok := need("TI"); ok && !isClock(ti, 23) {
		bad = append(bad, "TI is not HHMMSS")
	}
	if du, ok := r.Get("DU"); ok && !isClock(du, 99) {
		bad = append(bad, "DU is not HHMMSS")
	}
	if dd, ok := r.Get("DD"); ok && (dd == "" || len(dd) > 20 || !gateway.IsDigits(dd)) {
		bad = append(bad, "DD is not 1 to 20 digits")
	}
	if n, ok := need("P#"); ok && (!gateway.IsDigits(n) || len(n) > 8 || n[0] == '0') {
		bad = append(bad, "P# is not a number from 1 to 99999999 without leading zeros")
	}
	if so, ok := r.Get("SO"); ok && (so == "" || len(so) > 5 || !gateway.IsDigits(so)) {
		bad = append(bad, "SO is not 1 to 5 digits")
	}
	if px, ok := r.Get("PX"); ok && (px == "" || len(px) > 6 || !gateway.IsDigits(px)) {
		bad = append(bad, "PX is not 1 to 6 digits")
	}
	if pc, ok := r.Get("PC"); ok && (len(pc) != 1 || !isAlnum(pc)) {
		bad = append(bad, "PC is not one letter or digit")
	}
	if ct, ok := r.Get("CT"); ok && len([]rune(ct)) > 20 {
		bad = append(bad, "CT is longer than 20 characters")
	}
	for _, f := range r.Fields {
		for _, c := range f.Value {
			if c < 0x20 || c == 0x7f || c == '|' {
				bad = append(bad, "field "+f.ID+" holds a control character")
				break
			}
		}
	}
	return bad
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

func isAmount(s string) bool {
	if len(s) > 15 {
		return false
	}
	return gateway.IsDigits(strings.TrimPrefix(s, "-"))
}

func isClock(s string, maxHour int) bool {
	if len(s) != 6 || !gateway.IsDigits(s) {
		return false
	}
	h, m, sec := atoi(s[0:2]), atoi(s[2:4]), atoi(s[4:6])
	return h <= maxHour && m < 60 && sec < 60
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
