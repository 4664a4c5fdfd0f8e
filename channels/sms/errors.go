package sms

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/twilio/twilio-go/client"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/netguard"
)

// APIError is Twilio's refusal of an API call. It keeps the HTTP status
// and Twilio's error code but not Twilio's message, which can quote the
// recipient's number and would then reach logs and the delivery record.
type APIError struct {
	Status int // HTTP status
	Code   int // Twilio error code (https://www.twilio.com/docs/errors), 0 if none
}

// PublicText is the error as API clients see it: codes only, no text
// from the server.
func (e *APIError) PublicText() string { return e.Error() }

func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("twilio: HTTP %d", e.Status)
	}
	return fmt.Sprintf("twilio: HTTP %d, error %d (https://www.twilio.com/docs/errors/%d)", e.Status, e.Code, e.Code)
}

// permanentCodes are the Messages API error codes that no retry can mend,
// with the reason recorded on the delivery.
var permanentCodes = map[int]string{
	21211: "invalid_number",       // invalid 'To' phone number
	21614: "invalid_number",       // 'To' is not a mobile number
	21610: "unsubscribed",         // the recipient texted STOP to this sender
	21612: "unreachable",          // 'To' cannot be reached from this sender
	21408: "region_not_permitted", // the account's geo permissions exclude 'To'
	21606: "invalid_sender",       // 'From' cannot send to this destination
	21212: "invalid_sender",       // invalid 'From' number
	21617: "too_long",             // body over 1600 characters
	20003: "provider_auth",        // authentication failed
	21222: "provider_auth",        // twilio-go: account SID has illegal characters
	21224: "provider_auth",        // twilio-go: auth token has illegal characters
}

// classify turns what twilio-go returned into a hub error. status is the
// HTTP status the transport saw, 0 when no answer arrived.
//
//   - the base URL's address refused by the hub's target policy
//     (netguard): permanent "target_not_allowed".
//   - no answer (connection refused, reset, timeout, cancelled context):
//     temporary.
//   - 408, 429 and 5xx: temporary, whatever the code.
//   - a code in permanentCodes: permanent with its reason.
//   - 401 and 403: permanent "provider_auth". Wrong or revoked credentials
//     and suspended accounts are not mended by backoff within the retry
//     window; failing makes the problem visible to staff at once and lets the
//     patient's next channel carry the message.
//   - any other 4xx: permanent "provider_rejected"; a 3xx (nothing Twilio
//     sends; a wrong base URL): permanent "provider_config".
func classify(err error, status int) error {
	var te *client.TwilioRestError
	var v1 *client.RestErrorV1
	switch {
	case errors.Is(err, netguard.ErrRefused):
		return hub.Permanent("target_not_allowed", err)
	case errors.As(err, &te):
		st := te.Status
		if st == 0 {
			st = status
		}
		return classifyAPI(&APIError{Status: st, Code: te.Code})
	case errors.As(err, &v1):
		st := v1.HttpStatusCode
		if st == 0 {
			st = status
		}
		return classifyAPI(&APIError{Status: st, Code: v1.Code})
	case status >= 300 || (status > 0 && status < 200):
		// An error answer twilio-go could not decode (not Twilio's JSON),
		// or a redirect (twilio-go does not follow them).
		return classifyAPI(&APIError{Status: status})
	}
	return fmt.Errorf("sms: twilio request: %w", err)
}

func classifyAPI(e *APIError) error {
	switch {
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooManyRequests, e.Status >= 500:
		return fmt.Errorf("sms: %w", e)
	}
	if reason, ok := permanentCodes[e.Code]; ok {
		return hub.Permanent(reason, e)
	}
	switch {
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		return hub.Permanent("provider_auth", e)
	case e.Status >= 400 && e.Status < 500:
		return hub.Permanent("provider_rejected", e)
	case e.Status >= 300 && e.Status < 400:
		// Twilio does not redirect API calls: KARERE_TWILIO_BASE_URL is wrong.
		return hub.Permanent("provider_config", e)
	}
	return fmt.Errorf("sms: %w", e)
}
