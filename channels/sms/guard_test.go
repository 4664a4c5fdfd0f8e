package sms

import (
	"context"
	"errors"
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/netguard"
)

// TestBaseURLRefusedByTargetPolicy: a Sender given no HTTPClient applies
// the default target policy, so a base URL on loopback is refused before
// any connection: permanent target_not_allowed, shown as the policy's
// text. With loopback allowed, the same base URL is reached.
func TestBaseURLRefusedByTargetPolicy(t *testing.T) {
	tw := newFakeTwilio(t, nil)
	s := testSender{New(Config{BaseURL: tw.URL, PublicURL: testPublicURL}), onePractice(baseSettings())}
	_, err := s.Send(context.Background(), testMessage("021 123 4567", "Kia ora"))
	var pe *hub.PermanentError
	if !errors.As(err, &pe) || pe.Reason != "target_not_allowed" {
		t.Fatalf("Send = %v, want permanent target_not_allowed", err)
	}
	if got := hub.ErrorText(pe.Reason, pe.Err); got != "target_not_allowed: refused by target policy" {
		t.Errorf("last error %q", got)
	}
	if n := len(tw.Requests()); n != 0 {
		t.Fatalf("the refused base URL got %d requests", n)
	}

	g, err := netguard.New(netguard.Config{Allow: netguard.MustParse("127.0.0.0/8,::1/128")})
	if err != nil {
		t.Fatal(err)
	}
	s = testSender{New(Config{BaseURL: tw.URL, PublicURL: testPublicURL, HTTPClient: g.HTTPClient(0)}), onePractice(baseSettings())}
	if _, err := s.Send(context.Background(), testMessage("021 123 4567", "Kia ora")); err != nil {
		t.Fatalf("allowed: %v", err)
	}
}
