package tariff

import "strings"

// currencies maps each active ISO 4217 code to the number of digits of its
// minor unit (2 for cents, 0 for yen, 3 for fils).
var currencies = func() map[string]int {
	m := map[string]int{}
	two := `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK
MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR
SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU
UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL`
	for _, c := range strings.Fields(two) {
		m[c] = 2
	}
	for _, c := range strings.Fields("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF") {
		m[c] = 0
	}
	for _, c := range strings.Fields("BHD IQD JOD KWD LYD OMR TND") {
		m[c] = 3
	}
	for _, c := range strings.Fields("CLF UYW") {
		m[c] = 4
	}
	return m
}()

// MinorDigits returns the number of decimal digits of currency's minor unit
// (2 for USD, 0 for JPY), and false for a code ISO 4217 does not list.
func MinorDigits(currency string) (int, bool) {
	d, ok := currencies[currency]
	return d, ok
}
