package main

import "callgate/gateway"

// Problem is one thing wrong with a config file; Problems all of them.
type (
	Problem  = gateway.Problem
	Problems = gateway.Problems
)
