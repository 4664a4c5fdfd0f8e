package hub

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Enqueuer hands deliveries to the work queue. It is implemented by package
// queue.
type Enqueuer interface {
	// Enqueue queues d for delivery at d.NotBefore (or now). The task id is
	// the delivery id, so enqueueing a delivery already queued is a no-op
	// that returns nil.
	Enqueue(ctx context.Context, d *Delivery) error
}

// Config is what the Service needs besides its collaborators.
type Config struct {
	// SecretKey (32 bytes) encrypts practice settings at rest (AES-256-GCM).
	SecretKey []byte
	// Channels by name. "outbox" must be present: it takes every delivery
	// made with a test key. A channel missing from the map falls back to
	// the outbox (the embedded default, with no provider configured).
	Channels map[string]Channel
	Logger   *slog.Logger
	// Renderer renders messages from templates; nil sends a notice's text
	// as it is and a generic line for other kinds.
	Renderer Renderer
	// PortalURL is where patients sign in to read secure messages.
	PortalURL string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service is the domain core: it accepts work, delivers it and takes in
// replies and provider feedback. It is safe for concurrent use and keeps
// nothing in memory that another process would need.
type Service struct {
	store    Store
	queue    Enqueuer
	channels map[string]Channel
	aead     cipher.AEAD
	log      *slog.Logger
	now      func() time.Time
	render   Renderer
	portal   string

	practices ttlCache[*Practice]
	apiKeys   ttlCache[*APIKey]
	settings  ttlCache[[]byte] // sealed documents; nil: none stored

	subsMu sync.Mutex
	subs   map[string]map[chan Event]bool

	rem reminderDeps // reminders, webhooks (reminders.go)
}

// NewService wires a Service.
func NewService(store Store, queue Enqueuer, cfg Config) (*Service, error) {
	if len(cfg.SecretKey) != 32 {
		return nil, errors.New("hub: secret key must be 32 bytes (KARERE_SECRET_KEY)")
	}
	if cfg.Channels[ChannelOutbox] == nil {
		return nil, errors.New("hub: the outbox channel is required")
	}
	block, err := aes.NewCipher(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &Service{settings: ttlCache[[]byte]{ttl: settingsTTL}, store: store, queue: queue, channels: cfg.Channels, aead: aead, log: cfg.Logger, now: cfg.Now,
		render: cfg.Renderer, portal: cfg.PortalURL}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Store returns the Service's store (for wiring and tests).
func (s *Service) Store() Store { return s.store }

// SetQueue sets the enqueuer after construction (the queue's worker needs
// the Service, and the Service needs the queue's client).
func (s *Service) SetQueue(q Enqueuer) { s.queue = q }

// Now is the Service's clock.
func (s *Service) Now() time.Time { return s.now().UTC() }

type txKey struct{}

type txState struct {
	store       Store
	afterCommit []func(context.Context)
}

// inTx runs fn in a transaction, joining one already carried by ctx. Work
// registered with afterCommit runs once the outermost transaction commits.
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context, tx Store) error) error {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		return fn(ctx, st.store)
	}
	st := &txState{}
	err := s.store.Tx(ctx, func(tx Store) error {
		st.store = tx
		st.afterCommit = nil
		return fn(context.WithValue(ctx, txKey{}, st), tx)
	})
	if err != nil {
		return err
	}
	for _, f := range st.afterCommit {
		f(ctx)
	}
	return nil
}

// st is the store to read with: the transaction ctx carries, if any, so
// that a read inside a transaction never waits for a second connection
// (with SQLite's one writer, that wait could deadlock a busy pool).
func (s *Service) st(ctx context.Context) Store {
	if t, ok := ctx.Value(txKey{}).(*txState); ok {
		return t.store
	}
	return s.store
}

// afterCommit runs f after the transaction in ctx commits (at once when
// there is none).
func afterCommit(ctx context.Context, f func(context.Context)) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		st.afterCommit = append(st.afterCommit, f)
		return
	}
	f(ctx)
}

// enqueueAfterCommit queues d once its row is committed. A failure is only
// logged: the sweeper re-enqueues pending deliveries Redis does not have.
func (s *Service) enqueueAfterCommit(ctx context.Context, d *Delivery) {
	dd := *d
	afterCommit(ctx, func(ctx context.Context) {
		if err := s.queue.Enqueue(context.WithoutCancel(ctx), &dd); err != nil {
			s.log.Warn("enqueue failed; the sweeper will retry", "delivery", dd.ID, "err", err)
		}
	})
}

// Actor says who is acting, for the audit trail.
type Actor struct {
	PracticeID string
	ID         string // "key:<id>", "staff:<id>", "worker", "webhook:twilio"...
	Mode       KeyMode
	Source     string // remote address
	// StaffID is set when a signed-in staff member acts (the web inbox).
	StaffID string
}

func (s *Service) audit(ctx context.Context, tx Store, a Actor, action, patientID, subject string) error {
	return tx.AddAudit(ctx, &AuditEvent{
		ID: NewID(PrefixAudit), PracticeID: a.PracticeID, Actor: a.ID, Action: action,
		PatientID: patientID, Subject: subject, Source: a.Source, At: s.Now(),
	})
}

// Idempotent runs fn at most once per (practice, key): a call with a key
// seen before returns the first call's status and body (replayed=true). The
// key is claimed in the same transaction as fn's writes, so a crash leaves
// either both or neither. A different request (hash) with the same key is
// refused.
func (s *Service) Idempotent(ctx context.Context, practiceID, key string, requestHash []byte,
	fn func(ctx context.Context) (int, []byte, error)) (status int, body []byte, replayed bool, err error) {
	if len(key) > 255 {
		return 0, nil, false, Invalid("Idempotency-Key", "invalid_idempotency_key", "Idempotency-Key: at most 255 characters")
	}
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		prev, err := tx.ClaimIdempotencyKey(ctx, practiceID, key, requestHash)
		if err != nil {
			return err
		}
		if prev != nil {
			if string(prev.RequestHash) != string(requestHash) {
				return ErrIdempotencyReused
			}
			if prev.Status == 0 {
				return ErrIdempotencyInFlight
			}
			status, body, replayed = prev.Status, prev.Body, true
			return nil
		}
		status, body, err = fn(ctx)
		if err != nil {
			return err
		}
		return tx.SaveIdempotentResponse(ctx, practiceID, key, status, body)
	})
	return status, body, replayed, err
}

// sealSetting encrypts a settings document for storage.
func (s *Service) sealSetting(practiceID, kind string, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(practiceID+"/"+kind)), nil
}

// openSetting decrypts a stored settings document into v.
func (s *Service) openSetting(practiceID, kind string, sealed []byte, v any) error {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return fmt.Errorf("hub: settings %s of %s: too short", kind, practiceID)
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(practiceID+"/"+kind))
	if err != nil {
		return fmt.Errorf("hub: settings %s of %s cannot be decrypted (was KARERE_SECRET_KEY changed?): %w", kind, practiceID, err)
	}
	return json.Unmarshal(plain, v)
}

// PutSettings stores a practice's settings document of one kind, encrypted.
func (s *Service) PutSettings(ctx context.Context, a Actor, kind string, v any) error {
	sealed, err := s.sealSetting(a.PracticeID, kind, v)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.PutSetting(ctx, a.PracticeID, kind, sealed); err != nil {
			return err
		}
		afterCommit(ctx, func(context.Context) { s.settings.del(a.PracticeID + "/" + kind) })
		return s.audit(ctx, tx, a, "settings."+kind+".put", "", kind)
	})
}

// Settings reads a practice's settings document into v; found is false
// when the practice has none of that kind.
func (s *Service) Settings(ctx context.Context, practiceID, kind string, v any) (found bool, err error) {
	key, now := practiceID+"/"+kind, time.Now()
	sealed, ok := s.settings.get(key, now)
	if !ok {
		sealed, err = s.st(ctx).GetSetting(ctx, practiceID, kind)
		if errors.Is(err, ErrNoRows) {
			sealed, err = nil, nil
		}
		if err != nil {
			return false, err
		}
		s.settings.put(key, sealed, now)
	}
	if sealed == nil {
		return false, nil
	}
	return true, s.openSetting(practiceID, kind, sealed, v)
}

// SMSSettings returns the practice's Twilio settings, or nil when none
// are set.
func (s *Service) SMSSettings(ctx context.Context, practiceID string) (*SMSSettings, error) {
	var v SMSSettings
	ok, err := s.Settings(ctx, practiceID, SettingSMS, &v)
	if err != nil || !ok {
		return nil, err
	}
	if v.HelpText == "" {
		if p, err := s.st(ctx).GetPractice(ctx, practiceID); err == nil {
			v.HelpText = p.Name + ": reply STOP to stop texts, START to restart."
			if p.Phone != "" {
				v.HelpText += " Questions? Call " + p.Phone + "."
			}
		}
	}
	return &v, nil
}

// EmailSettings returns the practice's email settings, or nil when none
// are set.
func (s *Service) EmailSettings(ctx context.Context, practiceID string) (*EmailSettings, error) {
	var v EmailSettings
	ok, err := s.Settings(ctx, practiceID, SettingEmail, &v)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

// Channel returns the channel registered under name (nil if none).
func (s *Service) Channel(name string) Channel { return s.channels[name] }

// SetChannel registers a channel. Call it before the Service delivers
// anything: the map is not guarded.
func (s *Service) SetChannel(name string, c Channel) { s.channels[name] = c }
