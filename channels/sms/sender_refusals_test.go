package sms

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/twiliotest"
)

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	s := newTestSender("http://"+addr, onePractice(baseSettings()), 5*time.Second)
	_, err = s.Send(context.Background(), testMessage("+64211234567", "hello"))
	wantTemporary(t, err)
}

// blockingTwilio answers nothing until the test ends.
func blockingTwilio(t *testing.T) *twiliotest.Server {
	release := make(chan struct{})
	tw := newFakeTwilio(t, func(http.ResponseWriter, *http.Request) { <-release })
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	return tw
}

func TestSendTimeout(t *testing.T) {
	tw := blockingTwilio(t)
	s := newTestSender(tw.URL, onePractice(baseSettings()), 100*time.Millisecond)
	_, err := s.Send(context.Background(), testMessage("+64211234567", "hello"))
	wantTemporary(t, err)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
}

func TestSendHonoursContext(t *testing.T) {
	tw := blockingTwilio(t)
	s := newTestSender(tw.URL, onePractice(baseSettings()), time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Send(ctx, testMessage("+64211234567", "hello"))
	wantTemporary(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}
}

func TestSendRefusesBadNumbersWithoutCalling(t *testing.T) {
	tests := []struct{ name, to string }{
		{"empty", ""},
		{"words", "call me"},
		{"too short", "021 12"},
		{"NZ landline", "09 887 0000"},
		{"NZ landline E.164", "+6498870000"},
		{"freephone", "0800 611 116"},
		{"invalid country", "+999 123 4567"},
	}
	tw := newFakeTwilio(t, nil)
	s := newTestSender(tw.URL, onePractice(baseSettings()), 5*time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Send(context.Background(), testMessage(tt.to, "hello"))
			wantPermanent(t, err, "invalid_number")
		})
	}
	if n := len(tw.Requests()); n != 0 {
		t.Errorf("Twilio got %d requests, want 0", n)
	}
}

func TestNormaliseMobile(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"NZ local with spaces", "021 123 4567", "+64211234567"},
		{"NZ local compact", "0211234567", "+64211234567"},
		{"NZ E.164", "+64211234567", "+64211234567"},
		{"NZ 022", "022 012 3456", "+64220123456"},
		{"international prefix", "+64 27 123 4567", "+64271234567"},
		{"Australian mobile", "+61 412 345 678", "+61412345678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normaliseMobile(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("normaliseMobile(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSendSegmentLimit(t *testing.T) {
	one := "Kia ora, you have a new secure message from Kowhai Health."
	two := strings.Repeat("a", 200)      // GSM-7: 2 segments
	three := strings.Repeat("ā", 201)    // UCS-2: 3 segments of 67
	four := strings.Repeat("a", 153*3+1) // GSM-7: 4 segments
	tests := []struct {
		name   string
		max    int
		text   string
		reason string // "" means sent
	}{
		{"fits limit 1", 1, one, ""},
		{"over limit 1", 1, two, "too_many_segments"},
		{"default allows 3", 0, three, ""},
		{"default refuses 4", 0, four, "too_many_segments"},
		{"practice allows 4", 4, four, ""},
		{"empty", 0, "", "empty_body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tw := newFakeTwilio(t, nil)
			set := baseSettings()
			set.MaxSegments = tt.max
			s := newTestSender(tw.URL, onePractice(set), 5*time.Second)
			_, err := s.Send(context.Background(), testMessage("+64211234567", tt.text))
			calls := len(tw.Requests())
			if tt.reason == "" {
				if err != nil || calls != 1 {
					t.Fatalf("err = %v, calls = %d; want sent once", err, calls)
				}
				return
			}
			wantPermanent(t, err, tt.reason)
			if calls != 0 {
				t.Errorf("Twilio got %d requests, want 0", calls)
			}
		})
	}
}

func TestSendNotConfigured(t *testing.T) {
	noSender := baseSettings()
	noSender.From = ""
	noToken := baseSettings()
	noToken.AuthToken = ""
	tests := []struct {
		name string
		set  Settings
	}{
		{"no settings", fixedSettings{}},
		{"ErrNoRows", SettingsFunc(func(context.Context, string) (*hub.SMSSettings, error) {
			return nil, hub.ErrNoRows
		})},
		{"no sender", onePractice(noSender)},
		{"no token", onePractice(noToken)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSender("http://127.0.0.1:1", tt.set, time.Second)
			_, err := s.Send(context.Background(), testMessage("+64211234567", "hello"))
			wantPermanent(t, err, "sms_not_configured")
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means valid
	}{
		{"valid", Config{PublicURL: testPublicURL}, ""},
		{"valid with base", Config{BaseURL: "http://127.0.0.1:8080", PublicURL: testPublicURL}, ""},
		{"no public URL", Config{}, "KARERE_PUBLIC_URL"},
		{"relative public URL", Config{PublicURL: "karere.example.nz"}, "KARERE_PUBLIC_URL"},
		{"bad base", Config{BaseURL: "api.twilio.com", PublicURL: testPublicURL}, "KARERE_TWILIO_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}
