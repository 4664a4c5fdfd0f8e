// Package settings keeps each practice's settings documents (SMS, email,
// reminders, webhooks), sealed at rest with KARERE_SECRET_KEY (AES-256-GCM,
// the practice id and kind as associated data, so a sealed document cannot
// be moved to another practice or kind). Secrets in them are write-only
// through the API. Reads are cached briefly: a process's own writes show
// at once, another process's within SettingsTTL.
package settings

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/internal/netguard"
	"github.com/karerehub/karere/internal/ttlcache"
)

// SettingsTTL: settings written by another process reach this one within
// this time (this process's own writes at once).
const SettingsTTL = 5 * time.Second

// Store keeps sealed settings documents (hub/store implements it).
type Store interface {
	hub.Transactor
	// PutSetting stores a practice's document of one kind; the value is
	// opaque (sealed).
	PutSetting(ctx context.Context, practiceID, kind string, value []byte) error
	// GetSetting reads it; hub.ErrNoRows when the practice has none.
	GetSetting(ctx context.Context, practiceID, kind string) ([]byte, error)
	// a practice's name and phone fill the default SMS help text
	hub.PracticeReader
}

// Sealer encrypts small documents for storage with a 32-byte key.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer with key (KARERE_SECRET_KEY).
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, errors.New("settings: secret key must be 32 bytes (KARERE_SECRET_KEY)")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts v as JSON, bound to practiceID and kind.
func (s *Sealer) Seal(practiceID, kind string, v any) ([]byte, error) {
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

// Open decrypts what Seal made for practiceID and kind into v.
func (s *Sealer) Open(practiceID, kind string, sealed []byte, v any) error {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return fmt.Errorf("settings: %s of %s: too short", kind, practiceID)
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(practiceID+"/"+kind))
	if err != nil {
		return fmt.Errorf("settings: %s of %s cannot be decrypted (was KARERE_SECRET_KEY changed?): %w", kind, practiceID, err)
	}
	return json.Unmarshal(plain, v)
}

// TargetChecker decides, when a setting is saved, whether the hub may
// connect to host:port on the practice's behalf (a webhook URL, an SMTP
// relay). internal/netguard's Guard implements it: it resolves the name
// and returns an error matching netguard.ErrRefused when any address is
// loopback, private, link-local, the hub's own or otherwise not allowed;
// any other error (the name does not resolve now) is not a refusal. The
// same policy is applied again to every connection, on the address
// actually dialled, so this check is the admin's early warning, not the
// protection.
type TargetChecker interface {
	CheckHost(ctx context.Context, host string, port int) error
}

// Config is what a Service needs besides its collaborators.
type Config struct {
	// MinReminderOffset is the smallest reminder offset, escalation delay
	// and digest window accepted (MinReminderOffset when 0). Tests lower it
	// to run reminders in seconds.
	MinReminderOffset time.Duration
	// Targets checks webhook URLs and relays when they are saved; nil
	// applies netguard's default policy (no allow-list).
	Targets TargetChecker
	Logger  *slog.Logger
}

// Service reads and writes practice settings.
type Service struct {
	store     Store
	seal      *Sealer
	audit     *audit.Log
	cache     *ttlcache.Cache[[]byte] // sealed documents; nil: none stored
	minOffset time.Duration
	targets   TargetChecker
	log       *slog.Logger
}

// New returns a Service.
func New(store Store, seal *Sealer, log *audit.Log, cfg Config) *Service {
	s := &Service{store: store, seal: seal, audit: log, cache: ttlcache.New[[]byte](SettingsTTL),
		minOffset: cfg.MinReminderOffset, targets: cfg.Targets, log: cfg.Logger}
	if s.targets == nil {
		s.targets = (*netguard.Guard)(nil)
	}
	if s.minOffset <= 0 {
		s.minOffset = MinReminderOffset
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Put stores a practice's settings document of one kind, sealed, and
// audits the change.
func (s *Service) Put(ctx context.Context, a hub.Actor, kind string, v any) error {
	sealed, err := s.seal.Seal(a.PracticeID, kind, v)
	if err != nil {
		return err
	}
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		if err := s.store.PutSetting(ctx, a.PracticeID, kind, sealed); err != nil {
			return err
		}
		hub.AfterCommit(ctx, func(context.Context) { s.cache.Delete(a.PracticeID + "/" + kind) })
		return s.audit.Record(ctx, a, "settings."+kind+".put", "", kind)
	})
}

// Get reads a practice's settings document into v; found is false when
// the practice has none of that kind.
func (s *Service) Get(ctx context.Context, practiceID, kind string, v any) (found bool, err error) {
	key, now := practiceID+"/"+kind, time.Now()
	sealed, ok := s.cache.Get(key, now)
	if !ok {
		sealed, err = s.store.GetSetting(ctx, practiceID, kind)
		if errors.Is(err, hub.ErrNoRows) {
			sealed, err = nil, nil
		}
		if err != nil {
			return false, err
		}
		s.cache.Put(key, sealed, now)
	}
	if sealed == nil {
		return false, nil
	}
	return true, s.seal.Open(practiceID, kind, sealed, v)
}

// SMS returns the practice's Twilio settings, or nil when none are set.
// An empty HelpText is filled with the default answer to HELP: the
// practice's name and phone.
func (s *Service) SMS(ctx context.Context, practiceID string) (*hub.SMSSettings, error) {
	var v hub.SMSSettings
	ok, err := s.Get(ctx, practiceID, hub.SettingSMS, &v)
	if err != nil || !ok {
		return nil, err
	}
	if v.HelpText == "" {
		if p, err := s.store.GetPractice(ctx, practiceID); err == nil {
			v.HelpText = DefaultHelpText(p)
		}
	}
	return &v, nil
}

// DefaultHelpText answers HELP for a practice that set no help text. It
// is the one default: the SMS channel answers whatever the settings say.
func DefaultHelpText(p *hub.Practice) string {
	t := p.Name + ": this number sends texts for your health practice. Reply STOP to stop texts, START to get them again."
	if p.Phone != "" {
		t += " Questions? Call " + p.Phone + "."
	}
	return t + " In an emergency call 111."
}

// Email returns the practice's email settings, or nil when none are set.
func (s *Service) Email(ctx context.Context, practiceID string) (*hub.EmailSettings, error) {
	var v hub.EmailSettings
	ok, err := s.Get(ctx, practiceID, hub.SettingEmail, &v)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

// Webhooks returns the practice's webhook endpoint, or nil when none is
// set.
func (s *Service) Webhooks(ctx context.Context, practiceID string) (*hub.WebhookSettings, error) {
	var v hub.WebhookSettings
	ok, err := s.Get(ctx, practiceID, hub.SettingWebhooks, &v)
	if err != nil || !ok || v.URL == "" {
		return nil, err
	}
	return &v, nil
}
