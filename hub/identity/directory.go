package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/internal/ttlcache"
)

// DirectoryStore keeps practices, their API keys and staff (hub/store
// implements it).
type DirectoryStore interface {
	hub.Transactor
	CreatePractice(ctx context.Context, p *hub.Practice) error
	hub.PracticeReader
	CreateAPIKey(ctx context.Context, k *hub.APIKey) error
	// CreateStaff fails with hub.ErrConflict when the email is taken.
	CreateStaff(ctx context.Context, s *hub.Staff) error
}

// Directory creates practices, their API keys and staff accounts: what an
// operator's admin commands need, and nothing that needs the secret key.
type Directory struct {
	store     DirectoryStore
	audit     *audit.Log
	now       func() time.Time
	practices *ttlcache.Cache[*hub.Practice]
}

// NewDirectory returns a Directory; now nil means time.Now.
func NewDirectory(store DirectoryStore, log *audit.Log, now func() time.Time) *Directory {
	if now == nil {
		now = time.Now
	}
	return &Directory{store: store, audit: log, now: now, practices: ttlcache.New[*hub.Practice](CacheTTL)}
}

// Now is the Directory's clock, in UTC.
func (s *Directory) Now() time.Time { return s.now().UTC() }

// Practice reads a practice (through a cache: a rename shows within
// CacheTTL on other processes).
func (s *Directory) Practice(ctx context.Context, id string) (*hub.Practice, error) {
	now := time.Now()
	if p, ok := s.practices.Get(id, now); ok {
		return p, nil
	}
	p, err := s.store.GetPractice(ctx, id)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, hub.NotFound("practice")
	}
	if err != nil {
		return nil, err
	}
	s.practices.Put(id, p, now)
	return p, nil
}

// CreatePractice creates a practice and its first API key; the key string
// is returned once and stored hashed.
func (s *Directory) CreatePractice(ctx context.Context, name, timeZone string, mode hub.KeyMode) (*hub.Practice, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, "", hub.Invalid("name", "invalid_name", "name: 1-200 characters")
	}
	if timeZone == "" {
		timeZone = hub.DefaultTimeZone
	}
	if _, err := hub.CheckTimeZone("timezone", timeZone); err != nil {
		return nil, "", err
	}
	if mode != hub.ModeLive && mode != hub.ModeTest {
		return nil, "", hub.Invalid("mode", "invalid_mode", "mode: live or test")
	}
	p := &hub.Practice{ID: hub.NewID(hub.PrefixPractice), Name: name, TimeZone: timeZone, Created: s.Now()}
	key, plain := NewAPIKey(p.ID, mode, "first key")
	key.Created = p.Created
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		if err := s.store.CreatePractice(ctx, p); err != nil {
			return err
		}
		if err := s.store.CreateAPIKey(ctx, key); err != nil {
			return err
		}
		return s.audit.Record(ctx, hub.Actor{PracticeID: p.ID, ID: "admin"}, "practice.create", "", p.ID)
	})
	if err != nil {
		return nil, "", err
	}
	return p, plain, nil
}

// CreateAPIKey adds a key to a practice.
func (s *Directory) CreateAPIKey(ctx context.Context, practiceID string, mode hub.KeyMode, label string) (string, error) {
	if mode != hub.ModeLive && mode != hub.ModeTest {
		return "", hub.Invalid("mode", "invalid_mode", "mode: live or test")
	}
	if _, err := s.store.GetPractice(ctx, practiceID); err != nil {
		if errors.Is(err, hub.ErrNoRows) {
			return "", hub.NotFound("practice")
		}
		return "", err
	}
	key, plain := NewAPIKey(practiceID, mode, label)
	key.Created = s.Now()
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		if err := s.store.CreateAPIKey(ctx, key); err != nil {
			return err
		}
		return s.audit.Record(ctx, hub.Actor{PracticeID: practiceID, ID: "admin"}, "apikey.create", "", key.ID)
	})
	return plain, err
}

// AddStaff creates a staff account with a password.
func (s *Directory) AddStaff(ctx context.Context, practiceID, email, name, password string) (*hub.Staff, error) {
	email, err := hub.NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, hub.Invalid("name", "invalid_name", "name: 1-200 characters")
	}
	if len(password) < MinPasswordLength {
		return nil, hub.Invalid("password", "weak_password", "password: at least %d characters", MinPasswordLength)
	}
	if _, err := s.store.GetPractice(ctx, practiceID); err != nil {
		if errors.Is(err, hub.ErrNoRows) {
			return nil, hub.NotFound("practice")
		}
		return nil, err
	}
	st := &hub.Staff{ID: hub.NewID(hub.PrefixStaff), PracticeID: practiceID, Email: strings.ToLower(email), Name: name,
		PasswordHash: HashPassword(password), Created: s.Now()}
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		if err := s.store.CreateStaff(ctx, st); err != nil {
			if errors.Is(err, hub.ErrConflict) {
				return hub.Conflict("email_taken", "email: a staff account with this address exists")
			}
			return err
		}
		return s.audit.Record(ctx, hub.Actor{PracticeID: practiceID, ID: "admin"}, "staff.create", "", st.ID)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}
