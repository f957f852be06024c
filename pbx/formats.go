package pbx

// formats is every PBX format the gateway reads.
var formats = []Format{
	avayaIPO,
	asterisk,
	asteriskUTC,
	freeswitch,
	templateFormat,
}
