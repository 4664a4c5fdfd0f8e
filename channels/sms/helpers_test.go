package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"

	"github.com/karerehub/karere/hub"
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
// of twilio-go: HMAC-SHA1 keyed with the auth token over the full URL
// followed by every POST param's name and value, sorted by name, then
// base64.
func sign(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	data := fullURL
	for _, k := range keys {
		for _, v := range params[k] {
			data += k + v
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
