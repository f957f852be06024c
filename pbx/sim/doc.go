// Package sim is a PBX that prints the calls of a simulated hotel: a
// Generator makes the calls, a Writer prints them as one of the record
// formats package pbx reads (with that format's headers, page titles and date
// records), a Simulator paces them onto a sink (a serial port, the gateway's
// TCP port, a socket the gateway dials, a file), and Run is `gateway sim pbx`.
//
// The writers are checked against the parsers of package pbx: what a Writer
// prints, pbx parses back to the call it was given (the round-trip tests), so
// the simulator exercises the gateway as a real PBX would.
package sim
