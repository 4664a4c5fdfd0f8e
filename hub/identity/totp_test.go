package identity_test

import (
	"testing"
	"time"

	"github.com/karerehub/karere/hub/identity"
)

// TestTOTPCode checks the RFC 6238 appendix B vectors for SHA-1 (the last
// six of their eight digits).
func TestTOTPCode(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		name string
		unix int64
		want string
	}{
		{"59", 59, "287082"},
		{"1111111109", 1111111109, "081804"},
		{"1111111111", 1111111111, "050471"},
		{"1234567890", 1234567890, "005924"},
		{"2000000000", 2000000000, "279037"},
		{"20000000000", 20000000000, "353130"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := identity.TOTPCode(secret, time.Unix(tc.unix, 0)); got != tc.want {
				t.Errorf("TOTPCode at %d = %s, want %s", tc.unix, got, tc.want)
			}
		})
	}
}
