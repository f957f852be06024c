package gatewaytest_test

import (
	"testing"

	"callgate/gateway/gatewaytest"
)

func TestJournalContract(t *testing.T) {
	gatewaytest.JournalContract(t, func(t *testing.T, o gatewaytest.JournalOptions) gatewaytest.JournalUnderTest {
		return gatewaytest.NewJournal(o)
	})
}
