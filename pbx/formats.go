package pbx

// formats is every PBX format the gateway reads.
var formats = []Format{
	avayaIPO,
	mitelMiVB,
	mitel5000,
	necSV,
	panasonic,
	siemensHipath,
}
