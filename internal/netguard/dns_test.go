package netguard_test

import (
	"testing"

	"github.com/karerehub/karere/internal/dnstest"
)

// startFakeDNS starts a DNS server answering from records (see dnstest).
func startFakeDNS(t *testing.T, records map[string][]string) *dnstest.Server {
	t.Helper()
	return dnstest.Start(t, records)
}
