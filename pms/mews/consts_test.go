package mews_test

import "time"

const _ms = time.Millisecond
