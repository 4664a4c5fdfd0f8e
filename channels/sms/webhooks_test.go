package sms

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
)

// inboundForm is what Twilio posts for an incoming SMS.
func inboundForm(body string) url.Values {
	return url.Values{
		"ToCountry":     {"NZ"},
		"SmsMessageSid": {"SM11111111111111111111111111111111"},
		"NumMedia":      {"0"},
		"SmsSid":        {"SM11111111111111111111111111111111"},
		"SmsStatus":     {"received"},
		"Body":          {body},
		"To":            {"+6498870000"},
		"NumSegments":   {"1"},
		"MessageSid":    {"SM11111111111111111111111111111111"},
		"AccountSid":    {testAccountSID},
		"From":          {"+64211234567"},
		"ApiVersion":    {"2010-04-01"},
	}
}

func TestValidSignature(t *testing.T) {
	full := testPublicURL + InboundPath + "?practice=" + testPractice
	form := inboundForm("Kia ora, can I change my appointment?")
	good := sign(testAuthToken, full, form)

	tampered := inboundForm("Kia ora, can I change my appointment?")
	tampered.Set("From", "+64219999999")
	extra := inboundForm("Kia ora, can I change my appointment?")
	extra.Set("ThreadID", "thr_other")

	tests := []struct {
		name      string
		token     string
		url       string
		form      url.Values
		signature string
		want      bool
	}{
		{"valid", testAuthToken, full, form, good, true},
		{"valid with explicit port", testAuthToken, "https://karere.example.nz:443" + InboundPath + "?practice=" + testPractice, form, good, true},
		{"tampered param", testAuthToken, full, tampered, good, false},
		{"added param", testAuthToken, full, extra, good, false},
		{"tampered URL", testAuthToken, testPublicURL + InboundPath + "?practice=prc_other", form, good, false},
		{"other path", testAuthToken, testPublicURL + StatusPath + "?practice=" + testPractice, form, good, false},
		{"wrong token", "ffffffffffffffffffffffffffffffff", full, form, good, false},
		{"missing signature", testAuthToken, full, form, "", false},
		{"no token", "", full, form, sign("", full, form), false},
		{"garbage signature", testAuthToken, full, form, "not-base64", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validSignature(tt.token, tt.url, tt.form, tt.signature); got != tt.want {
				t.Errorf("validSignature = %v, want %v", got, tt.want)
			}
		})
	}
}

// signedPost builds the request Twilio would send to path?query.
func signedPost(token, pathQuery string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, pathQuery, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		r.Header.Set(SignatureHeader, sign(token, testPublicURL+pathQuery, form))
	}
	return r
}

func TestAuthenticate(t *testing.T) {
	const otherToken = "fedcba9876543210fedcba9876543210"
	other := baseSettings()
	other.AuthToken = otherToken
	settings := fixedSettings{testPractice: baseSettings(), "prc_other": other}
	target := InboundPath + "?practice=" + testPractice
	form := inboundForm("hello")

	tests := []struct {
		name   string
		req    func() *http.Request
		set    Settings
		status int // 0: authenticated
	}{
		{"valid", func() *http.Request { return signedPost(testAuthToken, target, form) }, settings, 0},
		{"GET", func() *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }, settings, 405},
		{"no signature", func() *http.Request { return signedPost("", target, form) }, settings, 403},
		{"bad signature", func() *http.Request {
			r := signedPost(testAuthToken, target, form)
			r.Header.Set(SignatureHeader, sign(testAuthToken, testPublicURL+target, inboundForm("other")))
			return r
		}, settings, 403},
		{"unknown practice", func() *http.Request {
			return signedPost(testAuthToken, InboundPath+"?practice=prc_unknown", form)
		}, settings, 403},
		{"another practice's token", func() *http.Request {
			return signedPost(testAuthToken, InboundPath+"?practice=prc_other", form)
		}, settings, 403},
		{"no practice", func() *http.Request { return signedPost(testAuthToken, InboundPath, form) }, settings, 403},
		{"settings unavailable", func() *http.Request { return signedPost(testAuthToken, target, form) },
			SettingsFunc(func(context.Context, string) (*hub.SMSSettings, error) { return nil, errors.New("db down") }), 503},
		{"body too large", func() *http.Request {
			big := inboundForm(strings.Repeat("a", MaxWebhookBody))
			return signedPost(testAuthToken, target, big)
		}, settings, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := authenticator{settings: tt.set, publicURL: testPublicURL}
			w := httptest.NewRecorder()
			req, ok := a.authenticate(w, tt.req())
			if tt.status == 0 {
				if !ok {
					t.Fatalf("refused with %d: %s", w.Code, w.Body)
				}
				if req.practiceID != testPractice || req.form.Get("Body") != "hello" || req.settings.AuthToken != testAuthToken {
					t.Errorf("signedRequest = %+v", req)
				}
				return
			}
			if ok || w.Code != tt.status {
				t.Errorf("ok = %v, status = %d; want refused with %d", ok, w.Code, tt.status)
			}
		})
	}
}

func TestAuthenticateUnderStripPrefix(t *testing.T) {
	// A router that strips a prefix changes URL.Path but not RequestURI,
	// which is what Twilio signed.
	a := authenticator{settings: onePractice(baseSettings()), publicURL: testPublicURL}
	var ok bool
	h := http.StripPrefix("/v1/webhooks", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok = a.authenticate(w, r)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signedPost(testAuthToken, InboundPath+"?practice="+testPractice, inboundForm("hi")))
	if !ok {
		t.Fatalf("refused with %d", w.Code)
	}
}

func TestStatusUpdate(t *testing.T) {
	at := time.Date(2025, 12, 4, 1, 0, 0, 0, time.UTC)
	form := func(kv ...string) url.Values {
		v := url.Values{"MessageSid": {"SM1"}, "AccountSid": {testAccountSID}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name  string
		form  url.Values
		final bool
		want  hub.StatusUpdate
	}{
		{"delivered", form("MessageStatus", "delivered"), true,
			hub.StatusUpdate{Channel: "sms", ProviderID: "SM1", State: hub.StateDelivered, At: at}},
		{"undelivered, handset off", form("MessageStatus", "undelivered", "ErrorCode", "30003"), true,
			hub.StatusUpdate{Channel: "sms", ProviderID: "SM1", State: hub.StateUndelivered, ErrorCode: "30003", At: at}},
		{"undelivered, landline", form("MessageStatus", "undelivered", "ErrorCode", "30006"), true,
			hub.StatusUpdate{Channel: "sms", ProviderID: "SM1", State: hub.StateUndelivered, ErrorCode: "30006", Permanent: true, At: at}},
		{"failed", form("MessageStatus", "failed", "ErrorCode", "30008"), true,
			hub.StatusUpdate{Channel: "sms", ProviderID: "SM1", State: hub.StateFailed, ErrorCode: "30008", At: at}},
		{"older field names", url.Values{"SmsSid": {"SM2"}, "SmsStatus": {"delivered"}}, true,
			hub.StatusUpdate{Channel: "sms", ProviderID: "SM2", State: hub.StateDelivered, At: at}},
		{"queued", form("MessageStatus", "queued"), false, hub.StatusUpdate{}},
		{"accepted", form("MessageStatus", "accepted"), false, hub.StatusUpdate{}},
		{"sending", form("MessageStatus", "sending"), false, hub.StatusUpdate{}},
		{"sent", form("MessageStatus", "sent"), false, hub.StatusUpdate{}},
		{"read", form("MessageStatus", "read"), false, hub.StatusUpdate{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, final := statusUpdate(tt.form, at)
			if final != tt.final {
				t.Fatalf("final = %v, want %v", final, tt.final)
			}
			if final && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("update = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

func TestParseKeyword(t *testing.T) {
	tests := []struct {
		name string
		body string
		want keyword
	}{
		{"STOP", "STOP", kwStop},
		{"padded lower", " stop ", kwStop},
		{"full stop", "Stop.", kwStop},
		{"STOPALL", "stopall", kwStop},
		{"STOP ALL", "STOP  ALL", kwStop},
		{"UNSUBSCRIBE", "Unsubscribe", kwStop},
		{"CANCEL", "cancel", kwStop},
		{"END", "End", kwStop},
		{"QUIT", "quit!", kwStop},
		{"stop please", "stop please", kwNone},
		{"START", "start", kwStart},
		{"UNSTOP", "UNSTOP", kwStart},
		{"HELP", "help", kwHelp},
		{"INFO", "Info", kwHelp},
		{"y", "y", kwYes},
		{"Yes", "Yes", kwYes},
		{"YES!", " YES! ", kwYes},
		{"āe", "Āe", kwYes},
		{"n", "n", kwNo},
		{"No", "No.", kwNo},
		{"kāo", "kāo", kwNo},
		{"no thanks", "no thanks", kwNone},
		{"yes please", "yes please", kwNone},
		{"question", "Stop?", kwNone},
		{"empty", "", kwNone},
		{"sentence", "Can I come at 11 instead?", kwNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseKeyword(tt.body); got != tt.want {
				t.Errorf("parseKeyword(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestTwiML(t *testing.T) {
	if got, want := string(twiml("")), `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Response></Response>"; got != want {
		t.Errorf("empty = %q, want %q", got, want)
	}
	got := string(twiml(`Call 09 887 0000 & ask for <reception> "Sione"`))
	want := `<Response><Message>Call 09 887 0000 &amp; ask for &lt;reception&gt; &#34;Sione&#34;</Message></Response>`
	if !strings.HasSuffix(got, want) {
		t.Errorf("twiml = %q, want suffix %q", got, want)
	}
}
