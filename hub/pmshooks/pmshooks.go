// Package pmshooks tells the practice's PMS what happened: a patient
// confirmed or declined an appointment, a delivery failed for good. Each
// event is stored (webhook_events) in the transaction that caused it and
// sent after commit through the queue (task id = event id), retried with
// the queue's backoff.
//
// The request is a POST of the event as JSON
//
//	{"id": "evt_...", "type": "appointment.confirmed", "created": "...", "data": {...}}
//
// with the headers
//
//	Karere-Event: appointment.confirmed
//	Karere-Delivery: evt_...          (the event id: de-duplicate on it)
//	Karere-Signature: t=1767225600,v1=5257a869e7ec...
//
// v1 is the hex HMAC-SHA256, keyed with the practice's webhook secret, of
// the timestamp, a full stop and the raw body: "1767225600.{...}". To
// verify (VerifyWebhookSignature does this): split the header on commas,
// take t and every v1, compute the HMAC over t + "." + body exactly as
// received (before any JSON parsing), compare in constant time with each
// v1, and refuse a t more than five minutes from your clock (replays).
//
// A 2xx answer ends the event (sent). A 4xx other than 408 and 429 means
// the PMS refuses it: the event is failed and its task archived, with no
// retry. So is a URL whose address the hub's target policy refuses
// (netguard: loopback, private, link-local, the hub's own addresses,
// unless the operator allow-listed them), checked on the resolved address
// of every connection. Anything else (network errors, timeouts, 408, 429,
// 5xx) is retried; after the last retry the event is failed.
//
// What GET /v1/webhooks/events shows as an event's last_error is an HTTP
// status, or one of "connection failed", "timed out" and "refused by
// target policy" (hub.ErrorText): never the text of an error, which could
// quote what answered on the address.
package pmshooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/netguard"
)

// Store keeps webhook events (hub/store implements it).
type Store interface {
	CreateWebhookEvent(ctx context.Context, e *hub.WebhookEvent) error
	// GetWebhookEvent reads an event; practiceID "" reads any practice's
	// (the worker's view).
	GetWebhookEvent(ctx context.Context, practiceID, id string) (*hub.WebhookEvent, error)
	// UpdateWebhookEvent writes State, Attempts, LastError and Updated.
	UpdateWebhookEvent(ctx context.Context, e *hub.WebhookEvent) error
	// ListWebhookEvents lists a practice's events, newest first.
	ListWebhookEvents(ctx context.Context, practiceID string, limit int) ([]hub.WebhookEvent, error)
}

// Settings gives a practice's webhook endpoint, nil when it has none
// (hub/settings implements it).
type Settings interface {
	Webhooks(ctx context.Context, practiceID string) (*hub.WebhookSettings, error)
}

// Queue queues an event's send (package queue implements it). Enqueueing
// an event already queued is a no-op: the task id is the event id.
type Queue interface {
	EnqueueWebhook(ctx context.Context, e *hub.WebhookEvent) error
}

// Config is what a Service needs besides its collaborators.
type Config struct {
	// HTTPClient posts the events. The hub passes its target guard's
	// client (netguard.Guard.HTTPClient). A client given must have a
	// timeout; its CheckRedirect is replaced, since a redirect would resend
	// the signed body somewhere not configured. Nil means a client with
	// WebhookTimeout under netguard's default policy (no allow-list).
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service emits and sends webhook events.
type Service struct {
	store    Store
	settings Settings
	queue    Queue
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Service.
func New(store Store, settings Settings, queue Queue, cfg Config) *Service {
	s := &Service{store: store, settings: settings, queue: queue, log: cfg.Logger, now: cfg.Now}
	c := cfg.HTTPClient
	if c == nil {
		c = (*netguard.Guard)(nil).HTTPClient(WebhookTimeout)
	}
	noRedirects := *c // a shallow copy: the caller's client is not changed
	// A redirect would resend the signed body somewhere not configured.
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.client = &noRedirects
	s.log, s.now = hub.OrDefaults(s.log, s.now)
	return s
}

// Webhook headers.
const (
	WebhookEventHeader     = "Karere-Event"
	WebhookDeliveryHeader  = "Karere-Delivery"
	WebhookSignatureHeader = "Karere-Signature"
)

// DefaultWebhookTolerance is how far a signature's timestamp may be from
// the receiver's clock.
const DefaultWebhookTolerance = 5 * time.Minute

// ReasonTargetRefused: the webhook URL's address is refused by the hub's
// target policy.
const ReasonTargetRefused = "target_not_allowed"

// WebhookTimeout bounds one POST to a PMS: a slow PMS must not hold a
// worker, and the event is retried anyway.
const WebhookTimeout = 10 * time.Second

// SignWebhook returns the Karere-Signature header value for body sent at t.
func SignWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + webhookMAC(secret, ts, body)
}

func webhookMAC(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ErrWebhookSignature is returned by VerifyWebhookSignature.
var ErrWebhookSignature = errors.New("pmshooks: webhook signature does not verify")

// VerifyWebhookSignature checks a Karere-Signature header against the raw
// body with the shared secret: a v1 signature must match and t must be
// within tolerance of now (DefaultWebhookTolerance when 0). A PMS written
// in Go can call it as it is.
func VerifyWebhookSignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
		case k == "t":
			ts = v
		case k == "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: malformed header", ErrWebhookSignature)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside the tolerance", ErrWebhookSignature)
	}
	want := webhookMAC(secret, ts, body)
	for _, s := range sigs {
		if subtle.ConstantTimeCompare([]byte(s), []byte(want)) == 1 {
			return nil
		}
	}
	return ErrWebhookSignature
}

// Emit stores an event of type typ for the practice's PMS, in the
// transaction ctx carries, and queues it after commit; it does nothing
// when the practice has no webhook URL. data is the event's "data" object:
// ids and states, never message content.
func (s *Service) Emit(ctx context.Context, practiceID, typ string, data any) error {
	set, err := s.settings.Webhooks(ctx, practiceID)
	if err != nil || set == nil {
		return err
	}
	now := s.now().UTC()
	e := &hub.WebhookEvent{ID: hub.NewID(hub.PrefixWebhook), PracticeID: practiceID, Type: typ, State: hub.WebhookPending,
		Created: now, Updated: now}
	e.Body, err = json.Marshal(map[string]any{"id": e.ID, "type": typ, "created": now, "data": data})
	if err != nil {
		return err
	}
	if err := s.store.CreateWebhookEvent(ctx, e); err != nil {
		return err
	}
	ev := *e
	hub.AfterCommit(ctx, func(ctx context.Context) {
		if err := s.queue.EnqueueWebhook(context.WithoutCancel(ctx), &ev); err != nil {
			s.log.Warn("enqueueing a webhook event failed; the sweeper will retry", "event", ev.ID, "err", err)
		}
	})
	return nil
}

// SendWebhook posts one stored event to the practice's PMS; the queue's
// worker calls it, final on the last attempt. A sent or failed event is
// left alone. A permanent refusal is returned as a PermanentError (the
// queue archives the task without retrying); any other error means
// "retry later".
func (s *Service) SendWebhook(ctx context.Context, id string, final bool) error {
	e, err := s.store.GetWebhookEvent(ctx, "", id)
	if errors.Is(err, hub.ErrNoRows) {
		s.log.Warn("webhook task for an unknown event: dropped", "event", id)
		return nil
	}
	if err != nil {
		return err
	}
	if e.State != hub.WebhookPending {
		return nil
	}
	set, err := s.settings.Webhooks(ctx, e.PracticeID)
	if err != nil {
		return err
	}
	record := func(state, lastError string) error {
		e.State, e.LastError, e.Updated = state, lastError, s.now().UTC()
		return s.store.UpdateWebhookEvent(context.WithoutCancel(ctx), e)
	}
	if set == nil {
		if err := record(hub.WebhookFailed, "no webhook url configured"); err != nil {
			return err
		}
		return hub.Permanentf("not_configured", "the practice has no webhook url")
	}
	e.Attempts++
	status, err := s.post(ctx, set, e)
	switch {
	case hub.IsPermanent(err):
		if rerr := record(hub.WebhookFailed, "invalid_url"); rerr != nil {
			return rerr
		}
		return err
	case errors.Is(err, netguard.ErrRefused):
		s.log.Warn("webhook refused by the target policy", "event", e.ID, "practice", e.PracticeID, "err", err)
		if rerr := record(hub.WebhookFailed, hub.ErrorText(ReasonTargetRefused, err)); rerr != nil {
			return rerr
		}
		return hub.Permanent(ReasonTargetRefused, err)
	case err == nil && status >= 200 && status < 300:
		return record(hub.WebhookSent, "")
	case err == nil && status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests:
		if rerr := record(hub.WebhookFailed, "HTTP "+strconv.Itoa(status)); rerr != nil {
			return rerr
		}
		return hub.Permanentf("refused", "webhook %s: the PMS answered HTTP %d", e.ID, status)
	}
	if err == nil {
		err = hub.Public(fmt.Errorf("HTTP %d", status))
	}
	state := hub.WebhookPending
	if final {
		state = hub.WebhookFailed
	}
	if rerr := record(state, hub.ErrorText("temporary", err)); rerr != nil {
		s.log.Warn("recording a webhook failure", "event", e.ID, "err", rerr)
	}
	return fmt.Errorf("pmshooks: webhook %s: %w", e.ID, err)
}

func (s *Service) post(ctx context.Context, set *hub.WebhookSettings, e *hub.WebhookEvent) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, set.URL, bytes.NewReader(e.Body))
	if err != nil {
		return 0, hub.Permanent("invalid_url", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Karere-Webhooks/1")
	req.Header.Set(WebhookEventHeader, e.Type)
	req.Header.Set(WebhookDeliveryHeader, e.ID)
	req.Header.Set(WebhookSignatureHeader, SignWebhook(set.Secret, s.now(), e.Body))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// Events lists the practice's outgoing webhook events, newest first: what
// was sent to the PMS, and what is still retrying or failed.
func (s *Service) Events(ctx context.Context, a hub.Actor, limit int) ([]hub.WebhookEvent, error) {
	return s.store.ListWebhookEvents(ctx, a.PracticeID, limit)
}
