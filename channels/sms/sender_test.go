package sms

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/twiliotest"
)

// newFakeTwilio starts the loopback Twilio for the test account; answer,
// when set, replaces its answers.
func newFakeTwilio(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *twiliotest.Server {
	t.Helper()
	tw := twiliotest.NewServer(t, testAccountSID, testAuthToken)
	tw.Answer(answer)
	return tw
}

// twilioError answers like Twilio refusing a call.
func twilioError(status, code int, message string) func(http.ResponseWriter, *http.Request) {
	return twiliotest.Error(status, code, message)
}

// testSender sends as hub/delivery does: the practice's settings travel
// in the message (set stands for the practice settings the core reads).
type testSender struct {
	*Sender
	set Settings
}

func (t testSender) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	set, err := t.set.SMSSettings(ctx, m.Delivery.PracticeID)
	if err != nil && !errors.Is(err, hub.ErrNoRows) {
		return hub.Receipt{}, err
	}
	m.SMS = set
	return t.Sender.Send(ctx, m)
}

func newTestSender(baseURL string, set Settings, timeout time.Duration) testSender {
	return testSender{New(Config{
		BaseURL:    baseURL,
		PublicURL:  testPublicURL + "/",
		HTTPClient: &http.Client{Timeout: timeout},
	}), set}
}

func testMessage(to, text string) *hub.Message {
	return &hub.Message{
		Delivery: &hub.Delivery{ID: "dlv_1", PracticeID: testPractice, Channel: hub.ChannelSMS},
		Practice: &hub.Practice{ID: testPractice, Name: "Kōwhai Health"},
		To:       to,
		Text:     text,
	}
}

const messagesPath = "/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"

func TestSendFrom(t *testing.T) {
	// twilio-go reads these from the environment; the Sender must ignore them.
	t.Setenv("TWILIO_EDGE", "sydney")
	t.Setenv("TWILIO_REGION", "au1")
	tw := newFakeTwilio(t, nil)
	s := newTestSender(tw.URL, onePractice(baseSettings()), 5*time.Second)

	text := "Kia ora Aroha, reminder: Kōwhai Health, Thu 4 Dec 10:30. Reply Y to confirm or N to cancel."
	rec, err := s.Send(context.Background(), testMessage("021 123 4567", text))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if rec.ProviderID != twiliotest.SID(1) {
		t.Errorf("ProviderID = %q", rec.ProviderID)
	}
	reqs := tw.Requests()
	if len(reqs) != 1 {
		t.Fatalf("Twilio got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != messagesPath {
		t.Errorf("request = %s %s, want POST %s", r.Method, r.Path, messagesPath)
	}
	if !r.BasicAuth || r.User != testAccountSID || r.Password != testAuthToken {
		t.Errorf("basic auth = %v %q:%q", r.BasicAuth, r.User, r.Password)
	}
	if r.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", r.ContentType)
	}
	want := url.Values{
		"To":             {"+64211234567"},
		"From":           {"+6498870000"},
		"Body":           {text},
		"StatusCallback": {testPublicURL + "/v1/webhooks/twilio/status?practice=" + testPractice},
	}
	if got := r.Form.Encode(); got != want.Encode() {
		t.Errorf("form =\n %s\nwant\n %s", got, want.Encode())
	}
}

func TestSendMessagingServiceAndBasePath(t *testing.T) {
	tw := newFakeTwilio(t, nil)
	set := baseSettings()
	set.MessagingServiceSID = "MG0123456789abcdef0123456789abcdef"
	// A base URL with a path prefix keeps it in front of Twilio's path.
	s := newTestSender(tw.URL+"/twilio/", onePractice(set), 5*time.Second)

	if _, err := s.Send(context.Background(), testMessage("+64 21 123 4567", "hello")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := tw.Requests()[0]
	if r.Path != "/twilio"+messagesPath {
		t.Errorf("path = %q", r.Path)
	}
	if got := r.Form.Get("MessagingServiceSid"); got != set.MessagingServiceSID {
		t.Errorf("MessagingServiceSid = %q", got)
	}
	if _, ok := r.Form["From"]; ok {
		t.Errorf("From sent with a Messaging Service: %q", r.Form.Get("From"))
	}
}

// wantPermanent fails unless err is permanent with reason.
func wantPermanent(t *testing.T, err error, reason string) {
	t.Helper()
	var pe *hub.PermanentError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want permanent %q", err, reason)
	}
	if pe.Reason != reason {
		t.Fatalf("reason = %q (%v), want %q", pe.Reason, err, reason)
	}
}

func wantTemporary(t *testing.T, err error) {
	t.Helper()
	if err == nil || hub.IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
}

func TestSendTwilioErrors(t *testing.T) {
	const numberMsg = "The 'To' number +64211234567 is not a valid phone number."
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
		reason string // "" means temporary
		code   int
	}{
		{"invalid To", twilioError(400, 21211, numberMsg), "invalid_number", 21211},
		{"unsubscribed", twilioError(400, 21610, "Attempt to send to unsubscribed recipient"), "unsubscribed", 21610},
		{"not mobile", twilioError(400, 21614, "'To' number is not a valid mobile number"), "invalid_number", 21614},
		{"unreachable", twilioError(400, 21612, "The 'To' phone number is not currently reachable via SMS"), "unreachable", 21612},
		{"region", twilioError(400, 21408, "Permission to send an SMS has not been enabled for the region"), "region_not_permitted", 21408},
		{"other 400", twilioError(400, 21602, "Message body is required."), "provider_rejected", 21602},
		{"bad credentials", twilioError(401, 20003, "Authenticate"), "provider_auth", 20003},
		{"not found", twilioError(404, 20404, "The requested resource was not found"), "provider_rejected", 20404},
		{"rate limited", twilioError(429, 20429, "Too Many Requests"), "", 20429},
		{"unavailable", twilioError(503, 20503, "Service Unavailable"), "", 20503},
		{"500", twilioError(500, 20500, "Internal Server Error"), "", 20500},
		{"proxy 502 in HTML", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body>Bad Gateway</body></html>")
		}, "", 0},
		{"201 without a readable answer", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "<html>")
		}, "provider_response", 0},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		}, "provider_config", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tw := newFakeTwilio(t, tt.answer)
			s := newTestSender(tw.URL, onePractice(baseSettings()), 5*time.Second)
			_, err := s.Send(context.Background(), testMessage("+64211234567", "hello"))
			if tt.reason == "" {
				wantTemporary(t, err)
			} else {
				wantPermanent(t, err, tt.reason)
			}
			if tt.code != 0 {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Code != tt.code {
					t.Errorf("err = %v, want an APIError with code %d", err, tt.code)
				}
			}
			if strings.Contains(err.Error(), "211234567") {
				t.Errorf("error text quotes the number: %v", err)
			}
			if n := len(tw.Requests()); n != 1 {
				t.Errorf("Twilio got %d requests, want 1", n)
			}
		})
	}
}
