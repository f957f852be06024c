package pbx

// formats is every PBX format the gateway reads.
var formats = []Format{
	avayaIPO,
	avayaCM,
	mitelMiVB,
	mitel5000,
	necSV,
	panasonic,
	siemensHipath,
	ciscoCUCM,
	asterisk,
	asteriskUTC,
	freeswitch,
	cx3,
	templateFormat,
}
