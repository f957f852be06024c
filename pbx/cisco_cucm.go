package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var ciscoCUCM = Format{
	Name: "cisco-cucm",
	Description: "Cisco Unified CM CDR flat files: CSV with a header row and a type row, columns mapped by header name, " +
		"epoch UTC times, one CDR per call leg",
	Settings: "CUCM pushes CDR files to the gateway host: Cisco Unified Serviceability > Tools > CDR Management > " +
		"Billing Application Server: add the gateway's host with an SFTP user and directory (the files arrive about once " +
		"a minute, each starting with its header row); pbx.transport file reads them. Service parameters (Cisco " +
		"CallManager, every node): CDR Enabled Flag True; CDR Log Calls with Zero Duration Flag True to see unanswered " +
		"calls. CMR (call management record) files are not needed and are skipped.",
	newParser: func(Options) (recordParser, error) { return newCUCMParser(), nil },
}

// CUCMDefaultColumns is the column order of CUCM 10.0-11.0 CDR files (129
// columns; later releases append columns after huntPilotPattern, so a record
// of a newer release without its header is read correctly too). It is used
// until the stream shows a header row. Read it, never change it.
var CUCMDefaultColumns = []string{
	"cdrRecordType", "globalCallID_callManagerId", "globalCallID_callId", "origLegCallIdentifier", "dateTimeOrigination",
	"origNodeId", "origSpan", "origIpAddr", "callingPartyNumber", "callingPartyUnicodeLoginUserID", "origCause_location",
	"origCause_value", "origPrecedenceLevel", "origMediaTransportAddress_IP", "origMediaTransportAddress_Port",
	"origMediaCap_payloadCapability", "origMediaCap_maxFramesPerPacket", "origMediaCap_g723BitRate", "origVideoCap_Codec",
	"origVideoCap_Bandwidth", "origVideoCap_Resolution", "origVideoTransportAddress_IP", "origVideoTransportAddress_Port",
	"origRSVPAudioStat", "origRSVPVideoStat", "destLegIdentifier", "destNodeId", "destSpan", "destIpAddr",
	"originalCalledPartyNumber", "finalCalledPartyNumber", "finalCalledPartyUnicodeLoginUserID", "destCause_location",
	"destCause_value", "destPrecedenceLevel", "destMediaTransportAddress_IP", "destMediaTransportAddress_Port",
	"destMediaCap_payloadCapability", "destMediaCap_maxFramesPerPacket", "destMediaCap_g723BitRate", "destVideoCap_Codec",
	"destVideoCap_Bandwidth", "destVideoCap_Resolution", "destVideoTransportAddress_IP", "destVideoTransportAddress_Port",
	"destRSVPAudioStat", "destRSVPVideoStat", "dateTimeConnect", "dateTimeDisconnect", "lastRedirectDn", "pkid",
	"originalCalledPartyNumberPartition", "callingPartyNumberPartition", "finalCalledPartyNumberPartition",
	"lastRedirectDnPartition", "duration", "origDeviceName", "destDeviceName", "origCallTerminationOnBehalfOf",
	"destCallTerminationOnBehalfOf", "origCalledPartyRedirectOnBehalfOf", "lastRedirectRedirectOnBehalfOf",
	"origCalledPartyRedirectReason", "lastRedirectRedirectReason", "destConversationId", "globalCallId_ClusterID",
	"joinOnBehalfOf", "comment", "authCodeDescription", "authorizationLevel", "clientMatterCode", "origDTMFMethod",
	"destDTMFMethod", "callSecuredStatus", "origConversationId", "origMediaCap_Bandwidth", "destMediaCap_Bandwidth",
	"authorizationCodeValue", "outpulsedCallingPartyNumber", "outpulsedCalledPartyNumber", "origIpv4v6Addr",
	"destIpv4v6Addr", "origVideoCap_Codec_Channel2", "origVideoCap_Bandwidth_Channel2", "origVideoCap_Resolution_Channel2",
	"origVideoTransportAddress_IP_Channel2", "origVideoTransportAddress_Port_Channel2", "origVideoChannel_Role_Channel2",
	"destVideoCap_Codec_Channel2", "destVideoCap_Bandwidth_Channel2", "destVideoCap_Resolution_Channel2",
	"destVideoTransportAddress_IP_Channel2", "destVideoTransportAddress_Port_Channel2", "destVideoChannel_Role_Channel2",
	"IncomingProtocolID", "IncomingProtocolCallRef", "OutgoingProtocolID", "OutgoingProtocolCallRef",
	"currentRoutingReason", "origRoutingReason", "lastRedirectingRoutingReason", "huntPilotPartition", "huntPilotDN",
	"calledPartyPatternUsage", "IncomingICID", "IncomingOrigIOI", "IncomingTermIOI", "OutgoingICID", "OutgoingOrigIOI",
	"OutgoingTermIOI", "outpulsedOriginalCalledPartyNumber", "outpulsedLastRedirectingNumber", "wasCallQueued",
	"totalWaitTimeInQueue", "callingPartyNumber_uri", "originalCalledPartyNumber_uri", "finalCalledPartyNumber_uri",
	"lastRedirectDn_uri", "mobileCallingPartyNumber", "finalMobileCalledPartyNumber", "origMobileDeviceName",
	"destMobileDeviceName", "origMobileCallDuration", "destMobileCallDuration", "mobileCallType",
	"originalCalledPartyPattern", "finalCalledPartyPattern", "lastRedirectingPartyPattern", "huntPilotPattern",
}

// cucmIndex holds the position of each column the parser reads; -1 when the
// header has no such column.
type cucmIndex struct {
	recordType, callID, origination, connect, disconnect, duration int
	calling, originalCalled, finalCalled, lastRedirectDn           int
	origDevice, destDevice, authDesc, clientMatter                 int
	origCause, destCause, join, origTermBehalf, destTermBehalf     int
	max                                                            int // highest required position
	missing                                                        string
}

// cucmIndexOf maps the columns the parser reads by their header names (the
// exact name, else one differing only in case).
func cucmIndexOf(cols []string) cucmIndex {
	find := func(name string) int {
		for i, c := range cols {
			if c == name {
				return i
			}
		}
		for i, c := range cols {
			if strings.EqualFold(c, name) {
				return i
			}
		}
		return -1
	}
	var x cucmIndex
	required := []struct {
		p    *int
		name string
	}{
		{&x.recordType, "cdrRecordType"}, {&x.callID, "globalCallID_callId"}, {&x.origination, "dateTimeOrigination"},
		{&x.connect, "dateTimeConnect"}, {&x.disconnect, "dateTimeDisconnect"}, {&x.duration, "duration"},
		{&x.calling, "callingPartyNumber"}, {&x.originalCalled, "originalCalledPartyNumber"},
		{&x.finalCalled, "finalCalledPartyNumber"}, {&x.origDevice, "origDeviceName"}, {&x.destDevice, "destDeviceName"},
	}
	for _, r := range required {
		*r.p = find(r.name)
		if *r.p < 0 && x.missing == "" {
			x.missing = r.name
		}
		if *r.p > x.max {
			x.max = *r.p
		}
	}
	x.lastRedirectDn = find("lastRedirectDn")
	x.authDesc = find("authCodeDescription")
	x.clientMatter = find("clientMatterCode")
	x.origCause = find("origCause_value")
	x.destCause = find("destCause_value")
	x.join = find("joinOnBehalfOf")
	x.origTermBehalf = find("origCallTerminationOnBehalfOf")
	x.destTermBehalf = find("destCallTerminationOnBehalfOf")
	return x
}

var cucmDefaultIndex = cucmIndexOf(CUCMDefaultColumns)

// cucmParser reads CUCM CDR flat files (docs/pbx-formats.md, "Cisco Unified
// Communications Manager"). It is stateful: the header row (cdrRecordType,
// globalCallID_callManagerId, …) of each file sets the column positions for
// the records after it; before any header the CUCM 10.0-11.0 order
// (CUCMDefaultColumns) is assumed. The header row and the type row under it
// (INTEGER, VARCHAR(50), …) produce nothing, nor do CMR records (cdrRecordType
// 2) and start records (0).
//
// Times are epoch seconds UTC: dateTimeOrigination (off hook, or setup
// received for an incoming call) is the start; dateTimeConnect 0 means the
// call was never answered; duration is the duration column (seconds from
// connect to disconnect).
//
// Direction comes from the device names. A phone is a device named the way
// CUCM names phones: SEP<MAC> (Cisco IP phones, third-party SIP phones, IP
// Communicator), CSF/BOT/TCT/TAB<user> (Jabber), ATA<MAC>, AN<MAC><port> (an
// SCCP analog gateway port) or AALN/… (an MGCP analog station port: room
// phones on a VG gateway). Conference bridges, music on hold, MTPs and
// annunciators (CFB_, MOH_, MTP_, ANN_, IVR_…) and Unity voicemail ports
// (CiscoUM…) are internal resources. Any other device is a trunk or gateway.
// Then: origin a trunk and destination not → in; destination a trunk and
// origin not → out; both trunks (a call forwarded or transferred off the
// system) → out, charged to lastRedirectDn, the extension that sent it out;
// neither → internal. When both device names are empty the numbers decide:
// a calling number longer than 7 digits (or starting with +) → in, else a
// final called number like that → out, else internal.
//
// Numbers: extension = callingPartyNumber for out and internal,
// finalCalledPartyNumber (the party that finally took the call: forwarding,
// hunt member) for in. Dialed = finalCalledPartyNumber for out and internal
// (where the call actually went: a call to a room forwarded to a mobile is
// billed on the mobile's number), originalCalledPartyNumber for in (the number
// the caller called, after CUCM's translations: the DID where the site keeps
// it, else the extension it was translated to). Trunk = the trunk's device
// name. CallerID = callingPartyNumber of an incoming call. Account code =
// clientMatterCode, else authCodeDescription (the FAC's name, never the code).
// CallID = globalCallID_callId.
//
// Continuation marks a leg of a transferred or conferenced call: a cause of
// 393216 (call split) on either side, a joinOnBehalfOf, or a termination on
// behalf of a transfer (10) or conference (4).
type cucmParser struct {
	idx    cucmIndex
	header bool // a header row was seen
	fields []string
}

func newCUCMParser() *cucmParser { return &cucmParser{idx: cucmDefaultIndex} }

func (p *cucmParser) parse(line []byte, _ time.Time) (gateway.Call, error) {
	s := strings.TrimSpace(string(line))
	if s == "" {
		return gateway.Call{}, ErrSkip
	}
	f, ok := p.split(s)
	if !ok {
		return gateway.Call{}, errorf("cisco-cucm: a quoted field is not closed")
	}
	first := strings.TrimSpace(f[0])
	if !gateway.IsDigits(first) && cucmIsHeader(f) {
		cols := make([]string, len(f))
		for i := range f {
			cols[i] = strings.TrimSpace(f[i])
		}
		p.idx = cucmIndexOf(cols)
		p.header = true
		return gateway.Call{}, ErrSkip
	}
	x := &p.idx
	rt := first
	if x.recordType >= 0 && x.recordType < len(f) {
		rt = strings.TrimSpace(f[x.recordType])
	}
	switch {
	case cucmIsType(first) || cucmIsType(rt):
		return gateway.Call{}, ErrSkip // the type row under the header
	case rt == "2" || rt == "0":
		return gateway.Call{}, ErrSkip // CMR record; start record (not used by CUCM)
	case x.missing != "":
		return gateway.Call{}, errorf("cisco-cucm: the file's header row has no %s column", x.missing)
	case rt != "1":
		return gateway.Call{}, errorf("cisco-cucm: cdrRecordType %q is not 1 (CDR) or 2 (CMR)", rt)
	}
	if len(f) <= x.max {
		src := "CUCM 10-11 default order (no header row seen)"
		if p.header {
			src = "header row"
		}
		return gateway.Call{}, errorf("cisco-cucm: record has %d columns, the %s needs at least %d", len(f), src, x.max+1)
	}
	get := func(i int) string {
		if i < 0 || i >= len(f) {
			return ""
		}
		return strings.TrimSpace(f[i])
	}
	orig, ok := cucmEpoch(get(x.origination))
	if !ok || orig == 0 {
		return gateway.Call{}, errorf("cisco-cucm: dateTimeOrigination %q is not epoch seconds", get(x.origination))
	}
	connect, ok := cucmEpoch(get(x.connect))
	if !ok {
		return gateway.Call{}, errorf("cisco-cucm: dateTimeConnect %q is not epoch seconds (0 when unanswered)", get(x.connect))
	}
	disconnect, ok := cucmEpoch(get(x.disconnect))
	if !ok {
		return gateway.Call{}, errorf("cisco-cucm: dateTimeDisconnect %q is not epoch seconds", get(x.disconnect))
	}
	dur := 0
	if ds := get(x.duration); ds != "" {
		n, ok := atoi(ds)
		if !ok {
			return gateway.Call{}, errorf("cisco-cucm: duration %q is not a number of seconds", ds)
		}
		dur = n
	} else if connect != 0 && disconnect >= connect {
		dur = int(disconnect - connect)
	}
	c := gateway.Call{
		StartUTC:    time.Unix(orig, 0).UTC(),
		Answered:    gateway.Bool(connect != 0),
		CallID:      get(x.callID),
		AccountCode: get(x.clientMatter),
	}
	if connect != 0 {
		c.DurationS = dur
	}
	if c.AccountCode == "" {
		c.AccountCode = get(x.authDesc)
	}
	calling := CleanDigits(get(x.calling))
	origCalled := CleanDigits(get(x.originalCalled))
	finalCalled := CleanDigits(get(x.finalCalled))
	origDev, destDev := get(x.origDevice), get(x.destDevice)
	origTrunk, destTrunk := CUCMIsTrunk(origDev), CUCMIsTrunk(destDev)
	if origDev == "" && destDev == "" {
		origTrunk = CUCMExternal(calling)
		destTrunk = !origTrunk && CUCMExternal(finalCalled)
	}
	switch {
	case origTrunk && !destTrunk:
		c.Direction = gateway.Incoming
		c.Trunk = origDev
		c.Extension = finalCalled
		c.Dialed = origCalled
		c.CallerID = calling
	case destTrunk && !origTrunk:
		c.Direction = gateway.Outgoing
		c.Trunk = destDev
		c.Extension = calling
		c.Dialed = finalCalled
	case destTrunk: // trunk to trunk: forwarded or transferred off the system
		c.Direction = gateway.Outgoing
		c.Trunk = destDev
		c.Extension = CleanDigits(get(x.lastRedirectDn))
		c.Dialed = finalCalled
	default:
		c.Direction = gateway.Internal
		c.Extension = calling
		c.Dialed = finalCalled
	}
	switch {
	case get(x.origCause) == "393216" || get(x.destCause) == "393216":
		c.Continuation = true
	case cucmNonZero(get(x.join)):
		c.Continuation = true
	default:
		for _, b := range []string{get(x.origTermBehalf), get(x.destTermBehalf)} {
			if b == "4" || b == "10" {
				c.Continuation = true
			}
		}
	}
	return c, nil
}

// cucmIsHeader reports whether a row is a header row: it names the
// cdrRecordType column.
func cucmIsHeader(f []string) bool {
	for _, c := range f {
		if strings.EqualFold(strings.TrimSpace(c), "cdrRecordType") {
			return true
		}
	}
	return false
}

// cucmIsType reports whether a field is a column type of the type row.
func cucmIsType(s string) bool {
	return s == "INTEGER" || strings.HasPrefix(s, "VARCHAR") || s == "UNIQUEIDENTIFIER" || s == "BIGINT" || s == "SMALLINT"
}

// split splits a CUCM CSV line into p.fields: strings are in double quotes
// (with "" for a quote inside), numbers are bare. Fields are substrings of s
// unless they hold an escaped quote. It reports false for an unterminated
// quote.
func (p *cucmParser) split(s string) ([]string, bool) {
	f := p.fields[:0]
	ok := true
	for {
		if len(s) > 0 && s[0] == '"' {
			end, esc := -1, false
			for i := 1; i < len(s); i++ {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						esc = true
						i++
						continue
					}
					end = i
					break
				}
			}
			if end < 0 {
				ok = false
				break
			}
			v := s[1:end]
			if esc {
				v = strings.ReplaceAll(v, `""`, `"`)
			}
			rest := s[end+1:]
			// Text between the closing quote and the comma is kept.
			k := strings.IndexByte(rest, ',')
			if k < 0 {
				f = append(f, v+rest)
				break
			}
			if k > 0 {
				v += rest[:k]
			}
			f = append(f, v)
			s = rest[k+1:]
			continue
		}
		i := strings.IndexByte(s, ',')
		if i < 0 {
			f = append(f, s)
			break
		}
		f = append(f, s[:i])
		s = s[i+1:]
	}
	p.fields = f
	return f, ok
}

// cucmEpoch parses epoch seconds (unsigned, at most 11 digits).
func cucmEpoch(s string) (int64, bool) {
	if s == "" || len(s) > 11 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// CUCMIsTrunk reports whether a device name is a trunk or gateway: neither
// empty, nor named like a phone, nor an internal media or voicemail resource.
func CUCMIsTrunk(name string) bool {
	if name == "" {
		return false
	}
	up := strings.ToUpper(name)
	switch {
	case cucmMACName(up, "SEP"), cucmMACName(up, "ATA"), cucmMACName(up, "AN"):
		return false
	case strings.HasPrefix(up, "AALN/"):
		return false
	case len(up) > 3 && (strings.HasPrefix(up, "CSF") || strings.HasPrefix(up, "BOT") ||
		strings.HasPrefix(up, "TCT") || strings.HasPrefix(up, "TAB")):
		return false
	case strings.HasPrefix(up, "CISCOUM"):
		return false
	}
	for _, r := range []string{"CFB_", "MOH_", "MTP_", "ANN_", "IVR_", "XCODE_"} {
		if strings.HasPrefix(up, r) {
			return false
		}
	}
	return true
}

// cucmMACName reports whether name is prefix followed by a 12-hex-digit MAC
// address (and, for analog ports, a port number).
func cucmMACName(name, prefix string) bool {
	if !strings.HasPrefix(name, prefix) || len(name) < len(prefix)+12 {
		return false
	}
	for i := len(prefix); i < len(prefix)+12; i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// CUCMExternal reports whether a number looks like a public one: a + or more
// than 7 digits.
func CUCMExternal(n string) bool {
	return strings.HasPrefix(n, "+") || len(n) > 7
}

func cucmNonZero(s string) bool { return s != "" && s != "0" }
