package sms

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
)

// tripwire gives practice settings and fails the test if a handler asks the
// hub to change anything. It is not a stand-in for the hub: requests that
// must change nothing go through it; the paths that do reach the hub are
// tested end to end with the real Service.
type tripwire struct {
	fixedSettings
	t *testing.T
}

var errTripped = errors.New("tripwire: unexpected hub call")

func (w tripwire) DeliveryStatus(context.Context, string, hub.StatusUpdate) error {
	w.t.Error("DeliveryStatus called")
	return errTripped
}

func (w tripwire) SetOptOutOnce(context.Context, string, string, string, bool, time.Time, string, string) (bool, error) {
	w.t.Error("SetOptOutOnce called")
	return false, errTripped
}

func (w tripwire) AnswerConfirmation(context.Context, string, string, bool, string) (bool, error) {
	w.t.Error("AnswerConfirmation called")
	return false, errTripped
}

func (w tripwire) ClaimInbound(context.Context, string, string, string) (bool, error) {
	w.t.Error("ClaimInbound called")
	return false, errTripped
}

func (w tripwire) ReceiveReply(context.Context, hub.InboundText) (hub.ReplyResult, error) {
	w.t.Error("ReceiveReply called")
	return hub.ReplyResult{}, errTripped
}

func newTripwireWebhooks(t *testing.T, set hub.SMSSettings) *Webhooks {
	return NewWebhooks(WebhooksConfig{PublicURL: testPublicURL + "/", Hub: tripwire{onePractice(set), t}})
}

func TestWebhooksRefuseWithoutChange(t *testing.T) {
	wh := newTripwireWebhooks(t, baseSettings())
	statusForm := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	tests := []struct {
		name    string
		handler http.Handler
		req     *http.Request
		status  int
	}{
		{"status unsigned", wh.StatusHandler(), signedPost("", StatusPath+"?practice="+testPractice, statusForm), 403},
		{"status wrong token", wh.StatusHandler(), signedPost("ffffffffffffffffffffffffffffffff", StatusPath+"?practice="+testPractice, statusForm), 403},
		{"status unknown practice", wh.StatusHandler(), signedPost(testAuthToken, StatusPath+"?practice=prc_nope", statusForm), 403},
		{"inbound STOP unsigned", wh.InboundHandler(), signedPost("", InboundPath+"?practice="+testPractice, inboundForm("STOP")), 403},
		{"inbound reply, signed for the status URL", wh.InboundHandler(), func() *http.Request {
			r := signedPost(testAuthToken, InboundPath+"?practice="+testPractice, inboundForm("hi"))
			r.Header.Set(SignatureHeader, sign(testAuthToken, testPublicURL+StatusPath+"?practice="+testPractice, inboundForm("hi")))
			return r
		}(), 403},
		{"inbound too large", wh.InboundHandler(), signedPost(testAuthToken, InboundPath+"?practice="+testPractice, inboundForm(strings.Repeat("x", MaxWebhookBody))), 413},
		{"status GET", wh.StatusHandler(), httptest.NewRequest(http.MethodGet, StatusPath+"?practice="+testPractice, nil), 405},
		// Signed and valid, but nothing the hub records.
		{"status sent", wh.StatusHandler(), signedPost(testAuthToken, StatusPath+"?practice="+testPractice,
			url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"sent"}}), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.handler.ServeHTTP(w, tt.req)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
		})
	}
}

// firstTime sees every message for the first time (replays are tested
// end to end, in e2e_test.go).
type firstTime struct{ tripwire }

func (firstTime) ClaimInbound(context.Context, string, string, string) (bool, error) {
	return true, nil
}

func TestInboundHelp(t *testing.T) {
	tests := []struct {
		name, helpText, want string
	}{
		{"practice text, escaped", "Kōwhai Health: call 09 887 0000 & ask for <reception>.",
			"<Message>Kōwhai Health: call 09 887 0000 &amp; ask for &lt;reception&gt;.</Message>"},
		{"none: the core fills in the default", "", "<Response></Response>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := baseSettings()
			set.HelpText = tt.helpText
			wh := NewWebhooks(WebhooksConfig{PublicURL: testPublicURL + "/", Hub: firstTime{tripwire{onePractice(set), t}}})
			w := httptest.NewRecorder()
			wh.InboundHandler().ServeHTTP(w, signedPost(testAuthToken, InboundPath+"?practice="+testPractice, inboundForm(" help ")))
			if w.Code != 200 {
				t.Fatalf("status = %d (%s)", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
				t.Errorf("Content-Type = %q", ct)
			}
			if !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("body = %s, want it to contain %s", w.Body, tt.want)
			}
		})
	}
}
