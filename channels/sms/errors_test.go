package sms

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/karerehub/karere/hub"
)

func TestClassify(t *testing.T) {
	restErr := func(status, code int) error {
		return &client.TwilioRestError{Status: status, Code: code, Message: "The 'To' number +64211234567 is not a valid phone number."}
	}
	tests := []struct {
		name   string
		err    error
		status int    // what the transport saw
		reason string // "" means temporary
	}{
		{"21211 invalid To", restErr(400, 21211), 400, "invalid_number"},
		{"21614 not mobile", restErr(400, 21614), 400, "invalid_number"},
		{"21610 unsubscribed", restErr(400, 21610), 400, "unsubscribed"},
		{"21612 unreachable", restErr(400, 21612), 400, "unreachable"},
		{"21408 region", restErr(400, 21408), 400, "region_not_permitted"},
		{"21606 sender", restErr(400, 21606), 400, "invalid_sender"},
		{"21617 too long", restErr(400, 21617), 400, "too_long"},
		{"unknown 4xx code", restErr(400, 21999), 400, "provider_rejected"},
		{"401", restErr(401, 20003), 401, "provider_auth"},
		{"403 without code", restErr(403, 0), 403, "provider_auth"},
		{"twilio-go credential check", restErr(400, 21224), 0, "provider_auth"},
		{"429", restErr(429, 20429), 429, ""},
		{"408", restErr(408, 0), 408, ""},
		{"503", restErr(503, 20503), 503, ""},
		{"5xx wins over a permanent code", restErr(503, 21211), 503, ""},
		{"status only in transport", restErr(0, 21211), 400, "invalid_number"},
		{"V1 error", &client.RestErrorV1{HttpStatusCode: 400, Code: 21211}, 400, "invalid_number"},
		{"undecodable 502", errors.New("error decoding the response for an HTTP error code: 502"), 502, ""},
		{"undecodable 400", errors.New("error decoding the response for an HTTP error code: 400"), 400, "provider_rejected"},
		{"connection refused", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, 0, ""},
		{"timeout", &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}, 0, ""},
		{"cancelled", &url.Error{Op: "Post", URL: "http://x", Err: context.Canceled}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err, tt.status)
			if tt.reason == "" {
				wantTemporary(t, got)
			} else {
				wantPermanent(t, got, tt.reason)
			}
			if errors.As(tt.err, new(*client.TwilioRestError)) {
				if s := got.Error(); strings.Contains(s, "211234567") {
					t.Errorf("classified error quotes Twilio's message: %q", s)
				}
			}
		})
	}
}

func TestAPIErrorIsReachable(t *testing.T) {
	err := classify(&client.TwilioRestError{Status: 400, Code: 21610}, 400)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 21610 || ae.Status != 400 {
		t.Fatalf("errors.As(%v) = %+v", err, ae)
	}
	if !hub.IsPermanent(err) {
		t.Fatal("not permanent")
	}
}
