// Package delivery is the path of a notice to a patient: it records a
// notice and plans its first delivery on the patient's channels (one
// transaction, queued after commit), and the queue's workers call Deliver,
// which composes the message (the patient's address, opt-outs, the
// practice's template and channel settings), sends it through the channel
// and records the outcome; a permanent failure falls back to the next
// channel. Digests (several notices in one text) and escalation (an unread
// portal notice goes to the next channel later) are planned here too, and
// provider feedback (Twilio status callbacks, bounces) moves a delivery on.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/hub/settings"
	"github.com/karerehub/karere/hub/templating"
)

// Store keeps notices, deliveries and what the portal and outbox channels
// kept (hub/store implements it).
type Store interface {
	hub.Transactor

	hub.PatientReader
	// PutPatient replaces a patient (an opt-out learnt from a provider).
	PutPatient(ctx context.Context, p *hub.Patient) (created bool, err error)
	// GetMessage reads the secure message a secure-message notice is about.
	GetMessage(ctx context.Context, practiceID, id string) (*hub.SecureMessage, error)
	// GetThread reads a thread (an escalation checks its unread count).
	GetThread(ctx context.Context, practiceID, id string) (*hub.Thread, error)

	CreateNotice(ctx context.Context, n *hub.Notice) error
	GetNotice(ctx context.Context, practiceID, id string) (*hub.Notice, error)

	CreateDelivery(ctx context.Context, d *hub.Delivery) error
	// GetDelivery reads a delivery; practiceID "" reads any practice's (the
	// worker's view).
	GetDelivery(ctx context.Context, practiceID, id string) (*hub.Delivery, error)
	// ClaimDelivery counts an attempt at a pending delivery and returns it
	// (Attempts already incremented); hub.ErrNoRows when it is missing or
	// no longer pending.
	ClaimDelivery(ctx context.Context, id string, at time.Time) (*hub.Delivery, error)
	// UpdateDelivery writes State, Attempts, ProviderID, LastError,
	// Fallbacks, NotBefore and Updated of an existing delivery.
	UpdateDelivery(ctx context.Context, d *hub.Delivery) error
	// SetDeliveryTemplateVersion records which template version a delivery
	// was rendered from (0: a built-in default).
	SetDeliveryTemplateVersion(ctx context.Context, deliveryID string, version int) error
	// FindDeliveryByProviderID finds the delivery a provider's id belongs to.
	FindDeliveryByProviderID(ctx context.Context, channel, providerID string) (*hub.Delivery, error)
	ListDeliveries(ctx context.Context, f hub.DeliveryFilter) ([]hub.Delivery, error)

	DigestStore
	PortalStore
}

// DigestStore is the part of Store for digests and escalations.
type DigestStore interface {
	// FindDigestLeader finds the patient's pending, unclaimed notice
	// delivery on channel waiting until after notBefore; hub.ErrNoRows if
	// none.
	FindDigestLeader(ctx context.Context, practiceID, patientID, channel string, mode hub.KeyMode, notBefore time.Time) (*hub.Delivery, error)
	// ReleaseDigestMember clears a rider's DigestInto and NotBefore.
	ReleaseDigestMember(ctx context.Context, d *hub.Delivery) error
	// ListDigestMembers lists the deliveries riding along in leaderID.
	ListDigestMembers(ctx context.Context, practiceID, leaderID string) ([]hub.Delivery, error)
	// CancelEscalations cancels pending deliveries escalating the portal
	// delivery fromID, and says how many.
	CancelEscalations(ctx context.Context, practiceID, fromID string, at time.Time) (int64, error)
}

// PortalStore is the part of Store for what the portal and outbox
// channels kept.
type PortalStore interface {
	// GetInboxItem reads one of a practice's portal items.
	GetInboxItem(ctx context.Context, practiceID, id string) (*hub.InboxItem, error)
	// GetInboxItemByDelivery finds the portal item a delivery stored.
	GetInboxItemByDelivery(ctx context.Context, practiceID, deliveryID string) (*hub.InboxItem, error)
	// ListInbox lists a patient's inbox, newest first.
	ListInbox(ctx context.Context, practiceID, patientID string, limit int) ([]hub.InboxItem, error)
	MarkInboxRead(ctx context.Context, practiceID, patientID, itemID string, at time.Time) error
	// ListOutbox lists a practice's outbox (practiceID "" for all), newest first.
	ListOutbox(ctx context.Context, practiceID string, limit int) ([]hub.OutboxItem, error)
}

// Enqueuer hands deliveries to the work queue (package queue implements
// it).
type Enqueuer interface {
	// Enqueue queues d for delivery at d.NotBefore (or now). The task id is
	// the delivery id, so enqueueing a delivery already queued is a no-op
	// that returns nil.
	Enqueue(ctx context.Context, d *hub.Delivery) error
}

// Settings gives the practice settings a delivery depends on
// (hub/settings implements it).
type Settings interface {
	ReminderConfig(ctx context.Context, practiceID string) (settings.ReminderConfig, error)
	SMS(ctx context.Context, practiceID string) (*hub.SMSSettings, error)
	Email(ctx context.Context, practiceID string) (*hub.EmailSettings, error)
}

// Renderer renders a kind of message for a channel and locale from the
// practice's templates (hub/templating implements it). A message that
// cannot be rendered is hub.Permanent; any other error is retried.
type Renderer interface {
	Render(ctx context.Context, practiceID, kind, channel, locale string, f templating.Facts) (templating.Rendered, error)
}

// Practices reads a practice, cached (hub/identity's Directory implements
// it): a message names the practice and shows times in its zone.
type Practices interface {
	Practice(ctx context.Context, id string) (*hub.Practice, error)
}

// Hooks tells the practice's PMS that a delivery failed for good
// (hub/pmshooks implements it).
type Hooks interface {
	Emit(ctx context.Context, practiceID, typ string, data any) error
}

var errOutboxRequired = errors.New("delivery: the outbox channel is required")

// Config is what a Service needs besides its collaborators.
type Config struct {
	// Channels by name. hub.ChannelOutbox must be present: it takes every
	// delivery made with a test key, and stands in for a channel that is
	// missing from the map or that the practice has not configured.
	Channels map[string]hub.Channel
	// PortalURL is where patients sign in to read secure messages.
	PortalURL string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service plans, sends and tracks deliveries.
type Service struct {
	store     Store
	practices Practices
	queue     Enqueuer
	settings  Settings
	render    Renderer
	hooks     Hooks
	audit     *audit.Log
	channels  map[string]hub.Channel
	portal    string
	log       *slog.Logger
	now       func() time.Time
}

// New returns a Service.
func New(store Store, practices Practices, queue Enqueuer, set Settings, render Renderer, hooks Hooks, log *audit.Log, cfg Config) (*Service, error) {
	if cfg.Channels[hub.ChannelOutbox] == nil {
		return nil, errOutboxRequired
	}
	chans := make(map[string]hub.Channel, len(cfg.Channels))
	for k, v := range cfg.Channels {
		chans[k] = v
	}
	s := &Service{store: store, practices: practices, queue: queue, settings: set, render: render, hooks: hooks, audit: log,
		channels: chans, portal: cfg.PortalURL, log: cfg.Logger, now: cfg.Now}
	s.log, s.now = hub.OrDefaults(s.log, s.now)
	return s, nil
}

// Now is the Service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// enqueueAfterCommit queues d once its row is committed. A failure is only
// logged: the sweeper re-enqueues pending deliveries Redis does not have.
func (s *Service) enqueueAfterCommit(ctx context.Context, d *hub.Delivery) {
	dd := *d
	hub.AfterCommit(ctx, func(ctx context.Context) {
		if err := s.queue.Enqueue(context.WithoutCancel(ctx), &dd); err != nil {
			s.log.Warn("enqueue failed; the sweeper will retry", "delivery", dd.ID, "err", err)
		}
	})
}

// patient reads a patient of the practice by external id.
func (s *Service) patient(ctx context.Context, practiceID, externalID string) (*hub.Patient, error) {
	p, err := s.store.GetPatient(ctx, practiceID, externalID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, hub.NotFound("patient")
	}
	return p, err
}
