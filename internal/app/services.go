package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/karerehub/karere/channels/email"
	"github.com/karerehub/karere/channels/outbox"
	"github.com/karerehub/karere/channels/portal"
	"github.com/karerehub/karere/channels/sms"
	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/hub/core"
	"github.com/karerehub/karere/hub/delivery"
	"github.com/karerehub/karere/hub/events"
	"github.com/karerehub/karere/hub/idempotency"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/hub/messaging"
	"github.com/karerehub/karere/hub/patients"
	"github.com/karerehub/karere/hub/pmshooks"
	"github.com/karerehub/karere/hub/reminders"
	"github.com/karerehub/karere/hub/settings"
	"github.com/karerehub/karere/hub/store"
	"github.com/karerehub/karere/hub/templating"
	"github.com/karerehub/karere/internal/throttle"
	"github.com/karerehub/karere/queue"
)

// The SQL store satisfies every subdomain's port, and the queue every
// queue port the core consumes.
var (
	_ audit.Store             = (*store.Store)(nil)
	_ settings.Store          = (*store.Store)(nil)
	_ identity.Store          = (*store.Store)(nil)
	_ identity.DirectoryStore = (*store.Store)(nil)
	_ patients.Store          = (*store.Store)(nil)
	_ templating.Store        = (*store.Store)(nil)
	_ pmshooks.Store          = (*store.Store)(nil)
	_ delivery.Store          = (*store.Store)(nil)
	_ messaging.Store         = (*store.Store)(nil)
	_ reminders.Store         = (*store.Store)(nil)
	_ idempotency.Store       = (*store.Store)(nil)
	_ identity.Attempts       = (*throttle.Redis)(nil)
	_ queue.PendingLister     = (*store.Store)(nil)
	_ queue.ReminderLister    = (*store.Store)(nil)
	_ delivery.Enqueuer       = (*queue.Client)(nil)
	_ reminders.Scheduler     = (*queue.Scheduler)(nil)
	_ pmshooks.Queue          = (*queue.Scheduler)(nil)
	_ queue.ReminderRequeuer  = (*queue.Scheduler)(nil)
	_ queue.Deliverer         = (*delivery.Service)(nil)
	_ queue.ReminderFirer     = (*reminders.Service)(nil)
	_ queue.WebhookSender     = (*pmshooks.Service)(nil)
	_ sms.Hub                 = inbound{}
	_ email.Hub               = inbound{}
	_ email.Unsubscriber      = (*patients.Service)(nil)
	_ messaging.Publisher     = (*events.Bus)(nil)
	_ delivery.Renderer       = (*templating.Service)(nil)
	_ delivery.Practices      = (*identity.Directory)(nil)
	_ templating.SMSSettings  = (*settings.Service)(nil)
	_ messaging.Planner       = (*delivery.Service)(nil)
	_ reminders.Planner       = (*delivery.Service)(nil)
)

// buildCore makes the hub's services, each with the store port and the
// collaborators it needs, and the channels deliveries go out on.
func (a *App) buildCore() (*core.Services, error) {
	cfg, log, st := a.cfg, a.log, a.store
	now := cfg.Clock
	seal, err := settings.NewSealer(cfg.secretKey)
	if err != nil {
		return nil, err
	}
	c := &core.Services{Events: &events.Bus{}, Idempotency: idempotency.New(st)}
	c.Audit = audit.New(st, now)
	c.Settings = settings.New(st, seal, c.Audit, settings.Config{MinReminderOffset: cfg.MinReminderOffset, Targets: a.guard, Logger: log})
	c.Identity = identity.New(st, throttle.New(a.rdb), seal, c.Audit, identity.Config{Logger: log, Now: now,
		MaxPasswordChecks: cfg.MaxPasswordChecks})
	c.Directory = identity.NewDirectory(st, c.Audit, now)
	c.Patients = patients.New(st, c.Audit, now)
	c.Templates = templating.New(st, c.Settings, c.Audit, now)
	c.Hooks = pmshooks.New(st, c.Settings, a.sched, pmshooks.Config{HTTPClient: a.guard.HTTPClient(pmshooks.WebhookTimeout),
		Logger: log, Now: now})
	if c.Delivery, err = delivery.New(st, c.Directory, a.queue, c.Settings, c.Templates, c.Hooks, c.Audit, delivery.Config{
		Channels: a.channels(), PortalURL: cfg.PortalURL, Logger: log, Now: now}); err != nil {
		return nil, err
	}
	c.Messaging = messaging.New(st, c.Delivery, c.Events, c.Audit, messaging.Config{Logger: log, Now: now})
	c.Reminders = reminders.New(st, a.sched, c.Delivery, c.Hooks, c.Settings, c.Audit, reminders.Config{Logger: log, Now: now})
	return c, nil
}

// channels are the ways deliveries go out. The embedded default (`hubd
// dev`) keeps SMS and email in the outbox; otherwise each practice's
// settings pick its provider, and hub/delivery keeps what a practice has
// not configured in the outbox.
func (a *App) channels() map[string]hub.Channel {
	var outboxLog *slog.Logger
	if a.dev {
		outboxLog = a.log
	}
	chans := map[string]hub.Channel{
		hub.ChannelOutbox: outbox.New(a.store, outboxLog),
		hub.ChannelPortal: portal.New(a.store),
	}
	if !a.dev {
		// Every connection made for a practice goes through the target
		// guard: the Twilio API (its base URL is configurable) and the
		// practices' relays. The operator's default relay is dialled
		// directly (see email.Config.DefaultRelayDialer).
		chans[hub.ChannelSMS] = sms.New(sms.Config{BaseURL: a.cfg.TwilioBaseURL, PublicURL: a.cfg.PublicURL,
			HTTPClient: a.guard.HTTPClient(sms.DefaultTimeout)})
		a.mail = email.New(email.Config{DefaultRelay: a.cfg.SMTPRelay, DefaultTLS: a.cfg.SMTPTLS,
			DefaultUsername: a.cfg.SMTPUsername, DefaultPassword: a.cfg.SMTPPassword, DefaultFrom: a.cfg.SMTPFrom,
			ReplyDomain: a.cfg.ReplyDomain, ReplySecret: a.cfg.ReplySecret(), PublicURL: a.cfg.PublicURL,
			TLSConfig: a.cfg.RelayTLS, Dialer: a.guard.Dialer(email.DefaultDialTimeout)})
		chans[hub.ChannelEmail] = a.mail
	}
	if a.cfg.WrapChannel != nil {
		for name, c := range chans {
			chans[name] = a.cfg.WrapChannel(name, c)
		}
	}
	return chans
}

// inbound is what the channels' inbound handlers (Twilio webhooks, the
// SMTP server) call in the core.
type inbound struct{ c *core.Services }

func (in inbound) SMSSettings(ctx context.Context, practiceID string) (*hub.SMSSettings, error) {
	return in.c.Settings.SMS(ctx, practiceID)
}

func (in inbound) DeliveryStatus(ctx context.Context, practiceID string, u hub.StatusUpdate) error {
	return in.c.Delivery.DeliveryStatus(ctx, practiceID, u)
}

func (in inbound) SetOptOutOnce(ctx context.Context, practiceID, channel, address string, optedOut bool, at time.Time,
	via, messageID string) (bool, error) {
	return in.c.Patients.SetOptOutOnce(ctx, practiceID, channel, address, optedOut, at, via, messageID)
}

func (in inbound) AnswerConfirmation(ctx context.Context, practiceID, phone string, yes bool, messageID string) (bool, error) {
	return in.c.Reminders.AnswerConfirmation(ctx, practiceID, phone, yes, messageID)
}

func (in inbound) ClaimInbound(ctx context.Context, practiceID, via, messageID string) (bool, error) {
	return in.c.Patients.ClaimInbound(ctx, practiceID, via, messageID)
}

func (in inbound) ReceiveReply(ctx context.Context, t hub.InboundText) (hub.ReplyResult, error) {
	return in.c.Messaging.ReceiveReply(ctx, t)
}
