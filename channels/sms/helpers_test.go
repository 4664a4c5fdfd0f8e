package sms

import (
	"context"
	"net/url"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/twiliotest"
)

const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "0123456789abcdef0123456789abcdef"
	testPractice   = "prc_01jdtest"
	testPublicURL  = "https://karere.example.nz"
)

// fixedSettings is configuration data: the settings of the practices it
// holds, and (nil, nil) for any other.
type fixedSettings map[string]hub.SMSSettings

func (f fixedSettings) SMSSettings(_ context.Context, practiceID string) (*hub.SMSSettings, error) {
	s, ok := f[practiceID]
	if !ok {
		return nil, nil
	}
	return &s, nil
}

func onePractice(s hub.SMSSettings) fixedSettings { return fixedSettings{testPractice: s} }

func baseSettings() hub.SMSSettings {
	return hub.SMSSettings{AccountSID: testAccountSID, AuthToken: testAuthToken, From: "+6498870000"}
}

// sign computes X-Twilio-Signature as Twilio documents it, independently
// of twilio-go and of validSignature.
func sign(authToken, fullURL string, params url.Values) string {
	return twiliotest.Sign(authToken, fullURL, params)
}
