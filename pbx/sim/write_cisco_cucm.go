package sim

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"callgate/gateway"
	"callgate/pbx"
)

// cucmWriter prints a CUCM 10/11 CDR flat file: the header row and the type
// row at the start of the stream, then one CSV line of the 129 columns per
// CDR, strings quoted, integers bare, CR LF.
//
// Records: one CDR per call (zero-duration logging on: unanswered calls are
// printed). A transferred call is two CDRs with the same globalCallID_callId:
// the front desk's leg, split by the transfer (cause 393216), and the room's,
// joined on behalf of the transfer with lastRedirectDn the front desk; the
// consultation call between the two extensions is not printed. Phones are
// SEP devices named from their extension, trunks the device PSTN-SIP-TRUNK.
// What a CDR does not carry: ring time (dateTimeConnect is printed, the
// reader does not report it). Dialed numbers keep the outside-line access
// code, as CUCM prints the called number as dialed.
type cucmWriter struct {
	o       WriterOptions
	started bool
}

func newCUCMWriter(o WriterOptions) (recordWriter, error) { return &cucmWriter{o: o}, nil }

// cucmTrunk is the simulated site's SIP trunk.
const cucmTrunk = "PSTN-SIP-TRUNK"

func (w *cucmWriter) records(c SimCall) []Record {
	recs := simSegments(c, w.o.Location)
	for i := range recs {
		r := &recs[i]
		r.RingS, r.TimeNote = nil, "" // epoch stamps: no wall clock to doubt
		if i == 0 {
			r.AnswerS = c.RingS
		}
		if c.Direction != gateway.Internal {
			r.Trunk = cucmTrunk
		}
		if r.Last {
			r.Via = c.Extension
		}
	}
	return recs
}

// cucmTypes gives the type of every column that is not an INTEGER.
var cucmTypes = func() map[string]string {
	m := map[string]string{"pkid": "UNIQUEIDENTIFIER"}
	for _, n := range strings.Fields("callingPartyNumber originalCalledPartyNumber finalCalledPartyNumber lastRedirectDn " +
		"originalCalledPartyNumberPartition callingPartyNumberPartition finalCalledPartyNumberPartition lastRedirectDnPartition " +
		"outpulsedCallingPartyNumber outpulsedCalledPartyNumber outpulsedOriginalCalledPartyNumber outpulsedLastRedirectingNumber " +
		"callingPartyNumber_uri originalCalledPartyNumber_uri finalCalledPartyNumber_uri lastRedirectDn_uri " +
		"mobileCallingPartyNumber finalMobileCalledPartyNumber") {
		m[n] = "VARCHAR(50)"
	}
	for _, n := range strings.Fields("callingPartyUnicodeLoginUserID origRSVPAudioStat origRSVPVideoStat " +
		"finalCalledPartyUnicodeLoginUserID destRSVPAudioStat destRSVPVideoStat origDeviceName destDeviceName " +
		"globalCallId_ClusterID comment authCodeDescription clientMatterCode authorizationCodeValue origIpv4v6Addr " +
		"destIpv4v6Addr IncomingProtocolCallRef OutgoingProtocolCallRef huntPilotPartition huntPilotDN IncomingICID " +
		"IncomingOrigIOI IncomingTermIOI OutgoingICID OutgoingOrigIOI OutgoingTermIOI origMobileDeviceName " +
		"destMobileDeviceName originalCalledPartyPattern finalCalledPartyPattern lastRedirectingPartyPattern huntPilotPattern") {
		m[n] = "VARCHAR(129)"
	}
	return m
}()

var cucmColumn = func() map[string]int {
	m := make(map[string]int, len(pbx.CUCMDefaultColumns))
	for i, c := range pbx.CUCMDefaultColumns {
		m[c] = i
	}
	return m
}()

// cucmPhone names the phone of extension ext: SEP and a MAC address made
// from the extension (SEP00AABB000415), or from its hash when it is not a
// short number.
func cucmPhone(ext string) string {
	if len(ext) <= 6 && pbx.MiVBNumber(ext) {
		return fmt.Sprintf("SEP00AABB%06s", ext)
	}
	h := fnv.New64a()
	h.Write([]byte(ext))
	return fmt.Sprintf("SEP%012X", h.Sum64()&0xffffffffffff)
}

func (w *cucmWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	switch {
	case r.RingS != nil:
		return dst, fmt.Errorf("the CUCM reader reports no ring time: give it as AnswerS")
	case !answered && r.DurationS != 0:
		return dst, fmt.Errorf("an unanswered call has no duration")
	case r.Direction != gateway.Incoming && r.CallerID != "":
		return dst, fmt.Errorf("only an incoming call has a caller id")
	case r.StartUTC.Unix() < 1:
		return dst, fmt.Errorf("CUCM stamps calls in seconds since 1970: %s cannot be printed", r.StartUTC)
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"caller id", r.CallerID}, field{"extension", r.Extension}, field{"via", r.Via}); err != nil {
		return dst, err
	}
	for _, v := range []struct{ what, s string }{{"trunk", r.Trunk}, {"account code", r.AccountCode}, {"call id", r.CallID}} {
		if err := noSpaceEdges(v.what, v.s); err != nil {
			return dst, err
		}
		if strings.EqualFold(v.s, "cdrRecordType") {
			return dst, fmt.Errorf("the %s %q reads as the header row", v.what, v.s)
		}
	}
	if r.Trunk != "" && !pbx.CUCMIsTrunk(r.Trunk) {
		return dst, fmt.Errorf("the trunk %q is named like a phone or a media resource", r.Trunk)
	}

	v := make([]string, len(pbx.CUCMDefaultColumns))
	set := func(col, val string) { v[cucmColumn[col]] = val }
	var calling, origCalled, finalCalled, origDev, destDev string
	switch r.Direction {
	case gateway.Outgoing:
		calling, origCalled, finalCalled = r.Extension, r.Dialed, r.Dialed
		origDev, destDev = cucmPhone(r.Extension), r.Trunk
		if r.Trunk == "" {
			if pbx.CUCMExternal(r.Extension) || !pbx.CUCMExternal(r.Dialed) {
				return dst, fmt.Errorf("an outgoing CDR without a trunk device must show an outside number called by an extension")
			}
			origDev = ""
		}
	case gateway.Incoming:
		calling, origCalled, finalCalled = r.CallerID, r.Dialed, r.Extension
		origDev, destDev = r.Trunk, ""
		if r.Extension != "" {
			destDev = cucmPhone(r.Extension)
		}
		if r.Trunk == "" {
			if !pbx.CUCMExternal(r.CallerID) {
				return dst, fmt.Errorf("an incoming CDR without a trunk device must show an outside caller's number")
			}
			destDev = ""
		}
	default:
		if r.Trunk != "" {
			return dst, fmt.Errorf("an internal call has no trunk")
		}
		calling, origCalled, finalCalled = r.Extension, r.Dialed, r.Dialed
		origDev, destDev = cucmPhone(r.Extension), cucmPhone(r.Dialed)
	}

	orig := r.StartUTC.Unix()
	connect, disconnect := int64(0), orig+int64(r.answerSecs())
	if answered {
		connect = disconnect
		disconnect = connect + int64(r.DurationS)
	}
	id := r.CallID
	n, _ := strconv.ParseUint(id, 10, 32)
	for i := range v {
		v[i] = "0"
		if _, ok := cucmTypes[pbx.CUCMDefaultColumns[i]]; ok {
			v[i] = ""
		}
	}
	set("cdrRecordType", "1")
	set("globalCallID_callManagerId", "1")
	set("globalCallID_callId", id)
	set("origLegCallIdentifier", strconv.FormatUint(16800000+2*n, 10))
	set("destLegIdentifier", strconv.FormatUint(16800001+2*n, 10))
	set("dateTimeOrigination", strconv.FormatInt(orig, 10))
	set("origNodeId", "1")
	set("destNodeId", "1")
	set("callingPartyNumber", calling)
	set("originalCalledPartyNumber", origCalled)
	set("finalCalledPartyNumber", finalCalled)
	set("origPrecedenceLevel", "4")
	set("destPrecedenceLevel", "4")
	set("origCause_value", "16")
	set("dateTimeConnect", strconv.FormatInt(connect, 10))
	set("dateTimeDisconnect", strconv.FormatInt(disconnect, 10))
	set("lastRedirectDn", r.Via)
	set("pkid", fmt.Sprintf("4b2f1c3a-0000-4000-8000-%012x", orig%1000000*1000+int64(n%1000)))
	if r.DurationS <= 999999999 {
		set("duration", strconv.Itoa(r.DurationS))
	} else {
		set("duration", "") // the reader takes disconnect - connect
	}
	set("origDeviceName", origDev)
	set("destDeviceName", destDev)
	set("origCallTerminationOnBehalfOf", "12")
	set("globalCallId_ClusterID", "StandAloneCluster")
	set("clientMatterCode", r.AccountCode)
	if !answered {
		set("destCause_value", "19") // no answer
	}
	switch {
	case r.Continuation && !r.Last:
		set("origCause_value", "393216")
		set("destCause_value", "393216")
		set("origCallTerminationOnBehalfOf", "0")
		set("destCallTerminationOnBehalfOf", "10")
	case r.Continuation:
		set("joinOnBehalfOf", "10")
	}

	quoted := func(i int) bool {
		if _, ok := cucmTypes[pbx.CUCMDefaultColumns[i]]; ok {
			return true
		}
		return !gateway.IsDigits(v[i]) && v[i] != "" && v[i][0] != '-'
	}
	var line []byte
	for i, s := range v {
		if i > 0 {
			line = append(line, ',')
		}
		if quoted(i) {
			line = append(line, '"')
			line = append(line, strings.ReplaceAll(s, `"`, `""`)...)
			line = append(line, '"')
		} else {
			line = append(line, s...)
		}
	}
	if err := fits(line); err != nil {
		return dst, err
	}
	if !w.started {
		dst = cucmAppendRow(dst, pbx.CUCMDefaultColumns)
		types := make([]string, len(pbx.CUCMDefaultColumns))
		for i, c := range pbx.CUCMDefaultColumns {
			types[i] = "INTEGER"
			if t, ok := cucmTypes[c]; ok {
				types[i] = t
			}
		}
		dst = cucmAppendRow(dst, types)
		w.started = true
	}
	dst = append(dst, line...)
	return append(dst, '\r', '\n'), nil
}

// cucmAppendRow appends a row of quoted values.
func cucmAppendRow(dst []byte, vals []string) []byte {
	for i, s := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, s...)
		dst = append(dst, '"')
	}
	return append(dst, '\r', '\n')
}
