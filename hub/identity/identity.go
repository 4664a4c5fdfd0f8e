// Package identity is who may act in a practice: practices and their API
// keys, staff accounts with argon2id passwords, web inbox sessions with
// CSRF tokens, sign-in throttling and the TOTP second factor.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/hub/settings"
	"github.com/karerehub/karere/internal/ttlcache"
)

// Store keeps what signing in reads and writes: keys, staff, sessions
// and second factors (hub/store implements it).
type Store interface {
	hub.Transactor

	// GetAPIKey finds a key by its public id, whatever its practice.
	GetAPIKey(ctx context.Context, id string) (*hub.APIKey, error)
	GetStaff(ctx context.Context, practiceID, id string) (*hub.Staff, error)
	// GetStaffByEmail finds a staff member by sign-in email (case-insensitive).
	GetStaffByEmail(ctx context.Context, email string) (*hub.Staff, error)

	SessionStore
}

// SessionStore is the part of Store for staff web sessions and second
// factors. (Sign-in attempts are counted elsewhere: Attempts.)
type SessionStore interface {
	// CreateSession inserts a session; hub.ErrConflict if its hash exists.
	CreateSession(ctx context.Context, s *hub.Session) error
	// GetSession finds a session by token hash, whatever its practice;
	// hub.ErrNoRows when none.
	GetSession(ctx context.Context, tokenHash []byte) (*hub.Session, error)
	// TouchSession sets LastSeen; hub.ErrNoRows when the session is gone.
	TouchSession(ctx context.Context, tokenHash []byte, at time.Time) error
	// DeleteSession removes a session; deleting one that is gone is not an
	// error.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteExpiredSessions removes sessions last seen before idleBefore or
	// created before createdBefore.
	DeleteExpiredSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error)

	// PutStaffTOTP inserts or replaces a staff member's second factor.
	PutStaffTOTP(ctx context.Context, t *hub.StaffTOTP) error
	// GetStaffTOTP reads it; hub.ErrNoRows when the staff member has none.
	GetStaffTOTP(ctx context.Context, practiceID, staffID string) (*hub.StaffTOTP, error)
	// UseTOTPStep records step as used if it is later than the last one,
	// atomically; hub.ErrNoRows when it is not (a replayed code) or there
	// is no second factor.
	UseTOTPStep(ctx context.Context, practiceID, staffID string, step int64) error
	// DeleteStaffTOTP removes it (nil when there is none).
	DeleteStaffTOTP(ctx context.Context, practiceID, staffID string) error
}

// CacheTTL bounds how stale a cached API key may be. Keys change rarely;
// a key revoked directly in the database stops working within this time.
const CacheTTL = 30 * time.Second

// Config is what a Service needs besides its collaborators.
type Config struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests of session expiry and
	// lockout move it.
	Now func() time.Time
	// MaxPasswordChecks bounds the password checks (argon2id, 64 MiB each)
	// run at once; 0 means DefaultMaxPasswordChecks.
	MaxPasswordChecks int
}

// Service signs callers in: API keys, staff sessions and second factors.
type Service struct {
	store    Store
	attempts Attempts
	seal     *settings.Sealer // TOTP secrets
	audit    *audit.Log
	log      *slog.Logger
	now      func() time.Time
	apiKeys  *ttlcache.Cache[*hub.APIKey]
	checks   chan struct{} // password check slots
	stats    struct{ passwordChecks, totpChecks, locked, busy atomic.Uint64 }
}

// New returns a Service. attempts counts sign-in attempts for every
// process (see Attempts).
func New(store Store, attempts Attempts, seal *settings.Sealer, log *audit.Log, cfg Config) *Service {
	if cfg.MaxPasswordChecks <= 0 {
		cfg.MaxPasswordChecks = DefaultMaxPasswordChecks
	}
	s := &Service{store: store, attempts: attempts, seal: seal, audit: log, log: cfg.Logger, now: cfg.Now,
		apiKeys: ttlcache.New[*hub.APIKey](CacheTTL), checks: make(chan struct{}, cfg.MaxPasswordChecks)}
	s.log, s.now = hub.OrDefaults(s.log, s.now)
	return s
}

// Now is the Service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// API keys look like "krr_live_<key id>_<secret>". The key id finds the
// row; only SHA-256 of the secret is stored (the secret has 160 bits of
// entropy, so a fast hash is enough), compared in constant time.
const apiKeyPrefix = "krr_"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewAPIKey makes a key for a practice; the returned string is shown once.
func NewAPIKey(practiceID string, mode hub.KeyMode, label string) (*hub.APIKey, string) {
	secret := make([]byte, 20)
	_, _ = rand.Read(secret)
	id := strings.TrimPrefix(hub.NewID(hub.PrefixKey), hub.PrefixKey+"_")
	sec := strings.ToLower(b32.EncodeToString(secret))
	sum := sha256.Sum256([]byte(sec))
	k := &hub.APIKey{ID: id, PracticeID: practiceID, Mode: mode, SecretHash: sum[:], Label: label}
	return k, apiKeyPrefix + string(mode) + "_" + id + "_" + sec
}

// ParseAPIKey splits a key string into mode, id and secret.
func ParseAPIKey(s string) (mode hub.KeyMode, id, secret string, ok bool) {
	rest, found := strings.CutPrefix(s, apiKeyPrefix)
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "_")
	if len(parts) != 3 || (parts[0] != string(hub.ModeLive) && parts[0] != string(hub.ModeTest)) || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return hub.KeyMode(parts[0]), parts[1], parts[2], true
}

// Authenticate checks a bearer API key and returns the acting practice.
func (s *Service) Authenticate(ctx context.Context, key, source string) (hub.Actor, error) {
	mode, id, secret, ok := ParseAPIKey(key)
	if !ok {
		return hub.Actor{}, hub.ErrUnauthorized
	}
	k, ok := s.apiKeys.Get(id, time.Now())
	var err error
	if !ok {
		k, err = s.store.GetAPIKey(ctx, id)
		if err == nil {
			s.apiKeys.Put(id, k, time.Now())
		}
	}
	if errors.Is(err, hub.ErrNoRows) {
		// Spend the same time as a real comparison.
		sum := sha256.Sum256([]byte(secret))
		subtle.ConstantTimeCompare(sum[:], make([]byte, len(sum)))
		return hub.Actor{}, hub.ErrUnauthorized
	}
	if err != nil {
		return hub.Actor{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], k.SecretHash) != 1 || k.Mode != mode || k.Revoked != nil {
		return hub.Actor{}, hub.ErrUnauthorized
	}
	return hub.Actor{PracticeID: k.PracticeID, ID: "key:" + k.ID, Mode: k.Mode, Source: source}, nil
}

// Password hashing: argon2id with the parameters RFC 9106 recommends for
// memory-constrained servers (64 MiB, 3 passes), stored in PHC format.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// MinPasswordLength is the shortest staff password accepted.
const MinPasswordLength = 12

// HashPassword hashes a password with argon2id.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	h := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(h))
}

// CheckPassword compares a password with a hash from HashPassword in
// constant time.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
