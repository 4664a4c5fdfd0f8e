package sms

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/karerehub/karere/hub"
)

// MaxWebhookBody bounds a webhook request body. Twilio's form for an
// inbound SMS (1,600 characters of body at most, UTF-8 and percent-encoded)
// plus its thirty or so fields stays far below it.
const MaxWebhookBody = 64 << 10

// Hub is what the webhooks need from the hub (internal/app assembles it
// from the core's services).
type Hub interface {
	// SMSSettings returns the practice's settings: (nil, nil) or an error
	// wrapping hub.ErrNoRows when it has none.
	SMSSettings(ctx context.Context, practiceID string) (*hub.SMSSettings, error)
	// DeliveryStatus records provider feedback (idempotent). An unknown
	// ProviderID is hub.ErrNoRows.
	DeliveryStatus(ctx context.Context, practiceID string, u hub.StatusUpdate) error
	// SetOptOutOnce opts a number in or out of a channel for the practice
	// for the text with provider message id messageID (via "sms"), once:
	// applied is false for an id applied before, which changes nothing.
	SetOptOutOnce(ctx context.Context, practiceID, channel, address string, optedOut bool, at time.Time,
		via, messageID string) (applied bool, err error)
	// AnswerConfirmation answers the most recent reminder that asked this
	// number for a Y/N confirmation, once per messageID; found=false when
	// none is waiting, found=true for an answer applied before.
	AnswerConfirmation(ctx context.Context, practiceID, phone string, yes bool, messageID string) (found bool, err error)
	// ClaimInbound records a text that changes nothing (HELP) as
	// answered; first=false for an id seen before.
	ClaimInbound(ctx context.Context, practiceID, via, messageID string) (first bool, err error)
	// ReceiveReply stores a patient's reply in the right thread
	// (encrypting it on arrival); duplicate ProviderIDs are processed once.
	ReceiveReply(ctx context.Context, in hub.InboundText) (hub.ReplyResult, error)
}

// WebhooksConfig configures Webhooks.
type WebhooksConfig struct {
	// PublicURL is where Twilio reaches this hub (KARERE_PUBLIC_URL), the
	// same value as Config.PublicURL. Signatures are checked against it.
	PublicURL string
	Hub       Hub
	// Logger, when set, records failed hub calls (operation and error
	// only, never numbers or text).
	Logger *slog.Logger
	// Now stamps status updates and opt-outs; nil means time.Now.
	Now func() time.Time
}

// Webhooks serves Twilio's calls: delivery status callbacks and inbound
// SMS. Every request must carry a valid X-Twilio-Signature made with the
// practice's auth token; anything else is refused with 403 and changes
// nothing.
type Webhooks struct {
	hub    Hub
	auth   authenticator
	logger *slog.Logger
	now    func() time.Time
}

// NewWebhooks returns the webhook handlers for cfg.
func NewWebhooks(cfg WebhooksConfig) *Webhooks {
	w := &Webhooks{
		hub:    cfg.Hub,
		auth:   authenticator{settings: cfg.Hub, publicURL: trimPublicURL(cfg.PublicURL)},
		logger: cfg.Logger,
		now:    cfg.Now,
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w
}

// authenticator checks a webhook request before anything acts on it.
type authenticator struct {
	settings  Settings
	publicURL string
}

// signedRequest is a webhook request whose signature checked out.
type signedRequest struct {
	practiceID string
	settings   *hub.SMSSettings
	form       url.Values // the POST form params, all signed
}

// authenticate answers the request itself and returns false unless it is
// a POST within MaxWebhookBody, for a practice with SMS settings, signed
// with that practice's auth token. A missing or wrong signature and an
// unknown practice get the same 403.
func (a *authenticator) authenticate(w http.ResponseWriter, r *http.Request) (*signedRequest, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad request", http.StatusBadRequest)
		}
		return nil, false
	}
	signature := r.Header.Get(SignatureHeader)
	practiceID := r.URL.Query().Get("practice")
	if signature == "" || practiceID == "" {
		forbidden(w)
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		forbidden(w) // Twilio sends well-formed forms: this one is not Twilio's
		return nil, false
	}
	set, err := a.settings.SMSSettings(r.Context(), practiceID)
	if err != nil && !errors.Is(err, hub.ErrNoRows) {
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return nil, false
	}
	if set == nil || !validSignature(set.AuthToken, requestURL(a.publicURL, r), form, signature) {
		forbidden(w)
		return nil, false
	}
	return &signedRequest{practiceID: practiceID, settings: set, form: form}, true
}

func forbidden(w http.ResponseWriter) {
	http.Error(w, "forbidden", http.StatusForbidden)
}

// fail answers a hub failure with 500 (Twilio records it as error 11200
// in the account's debugger) and logs the operation without content.
func (w *Webhooks) fail(rw http.ResponseWriter, op string, err error) {
	var he *hub.Error
	if errors.As(err, &he) && he.Kind != hub.KindInternal && he.Kind != hub.KindUnavailable {
		// The hub cannot take this text (an unknown number, no team key):
		// no retry would change that, so Twilio gets an empty answer.
		if w.logger != nil {
			w.logger.Warn("sms webhook: text not stored", "op", op, "code", he.Code)
		}
		writeTwiML(rw, "")
		return
	}
	if w.logger != nil {
		w.logger.Error("sms webhook: hub call failed", "op", op, "err", err)
	}
	http.Error(rw, "internal error", http.StatusInternalServerError)
}
