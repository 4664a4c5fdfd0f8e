package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// API keys look like "krr_live_<key id>_<secret>". The key id finds the
// row; only SHA-256 of the secret is stored (the secret has 160 bits of
// entropy, so a fast hash is enough), compared in constant time.
const apiKeyPrefix = "krr_"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewAPIKey makes a key for a practice; the returned string is shown once.
func NewAPIKey(practiceID string, mode KeyMode, label string) (*APIKey, string) {
	secret := make([]byte, 20)
	_, _ = rand.Read(secret)
	id := strings.TrimPrefix(NewID(PrefixKey), PrefixKey+"_")
	sec := strings.ToLower(b32.EncodeToString(secret))
	sum := sha256.Sum256([]byte(sec))
	k := &APIKey{ID: id, PracticeID: practiceID, Mode: mode, SecretHash: sum[:], Label: label}
	return k, apiKeyPrefix + string(mode) + "_" + id + "_" + sec
}

// ParseAPIKey splits a key string into mode, id and secret.
func ParseAPIKey(s string) (mode KeyMode, id, secret string, ok bool) {
	rest, found := strings.CutPrefix(s, apiKeyPrefix)
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "_")
	if len(parts) != 3 || (parts[0] != string(ModeLive) && parts[0] != string(ModeTest)) || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return KeyMode(parts[0]), parts[1], parts[2], true
}

// Authenticate checks a bearer API key and returns the acting practice.
func (s *Service) Authenticate(ctx context.Context, key, source string) (Actor, error) {
	mode, id, secret, ok := ParseAPIKey(key)
	if !ok {
		return Actor{}, ErrUnauthorized
	}
	k, ok := s.apiKeys.get(id, time.Now())
	var err error
	if !ok {
		k, err = s.store.GetAPIKey(ctx, id)
		if err == nil {
			s.apiKeys.put(id, k, time.Now())
		}
	}
	if errors.Is(err, ErrNoRows) {
		// Spend the same time as a real comparison.
		sum := sha256.Sum256([]byte(secret))
		subtle.ConstantTimeCompare(sum[:], make([]byte, len(sum)))
		return Actor{}, ErrUnauthorized
	}
	if err != nil {
		return Actor{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], k.SecretHash) != 1 || k.Mode != mode || k.Revoked != nil {
		return Actor{}, ErrUnauthorized
	}
	return Actor{PracticeID: k.PracticeID, ID: "key:" + k.ID, Mode: k.Mode, Source: source}, nil
}

// CreatePractice creates a practice and its first API key; the key string
// is returned once and stored hashed.
func (s *Service) CreatePractice(ctx context.Context, name, timeZone string, mode KeyMode) (*Practice, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, "", Invalid("name", "invalid_name", "name: 1-200 characters")
	}
	if timeZone == "" {
		timeZone = DefaultTimeZone
	}
	if _, err := CheckTimeZone("timezone", timeZone); err != nil {
		return nil, "", err
	}
	if mode != ModeLive && mode != ModeTest {
		return nil, "", Invalid("mode", "invalid_mode", "mode: live or test")
	}
	p := &Practice{ID: NewID(PrefixPractice), Name: name, TimeZone: timeZone, Created: s.Now()}
	key, plain := NewAPIKey(p.ID, mode, "first key")
	key.Created = p.Created
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreatePractice(ctx, p); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(ctx, key); err != nil {
			return err
		}
		return s.audit(ctx, tx, Actor{PracticeID: p.ID, ID: "admin"}, "practice.create", "", p.ID)
	})
	if err != nil {
		return nil, "", err
	}
	return p, plain, nil
}

// CreateAPIKey adds a key to a practice.
func (s *Service) CreateAPIKey(ctx context.Context, practiceID string, mode KeyMode, label string) (string, error) {
	if mode != ModeLive && mode != ModeTest {
		return "", Invalid("mode", "invalid_mode", "mode: live or test")
	}
	if _, err := s.store.GetPractice(ctx, practiceID); err != nil {
		if errors.Is(err, ErrNoRows) {
			return "", NotFound("practice")
		}
		return "", err
	}
	key, plain := NewAPIKey(practiceID, mode, label)
	key.Created = s.Now()
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreateAPIKey(ctx, key); err != nil {
			return err
		}
		return s.audit(ctx, tx, Actor{PracticeID: practiceID, ID: "admin"}, "apikey.create", "", key.ID)
	})
	return plain, err
}

// DefaultTimeZone is where most Karere practices are.
const DefaultTimeZone = "Pacific/Auckland"

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

// AddStaff creates a staff account with a password.
func (s *Service) AddStaff(ctx context.Context, practiceID, email, name, password string) (*Staff, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, Invalid("name", "invalid_name", "name: 1-200 characters")
	}
	if len(password) < MinPasswordLength {
		return nil, Invalid("password", "weak_password", "password: at least %d characters", MinPasswordLength)
	}
	if _, err := s.store.GetPractice(ctx, practiceID); err != nil {
		if errors.Is(err, ErrNoRows) {
			return nil, NotFound("practice")
		}
		return nil, err
	}
	st := &Staff{ID: NewID(PrefixStaff), PracticeID: practiceID, Email: strings.ToLower(email), Name: name,
		PasswordHash: HashPassword(password), Created: s.Now()}
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreateStaff(ctx, st); err != nil {
			if errors.Is(err, ErrConflict) {
				return Conflict("email_taken", "email: a staff account with this address exists")
			}
			return err
		}
		return s.audit(ctx, tx, Actor{PracticeID: practiceID, ID: "admin"}, "staff.create", "", st.ID)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}
