package pbx

import "testing"

func FuzzAvayaIPO(f *testing.F) { fuzzFormat(f, "avaya-ipo") }
