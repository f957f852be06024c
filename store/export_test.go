package store

// ChainHash is chainHash, for the tamper test.
var ChainHash = chainHash
