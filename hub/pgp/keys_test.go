package pgp_test

import (
	"bytes"
	"crypto"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"

	"github.com/karerehub/karere/hub/pgp"
)

func serializePublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, "PGP PUBLIC KEY BLOCK", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// serializePrivate writes e's private key as it is now (locked or not).
func serializePrivate(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, "PGP PRIVATE KEY BLOCK", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustParse(t testing.TB, armored []byte, now time.Time) *pgp.PublicKey {
	t.Helper()
	k, err := pgp.ParsePublicKey(armored, now)
	if err != nil {
		t.Fatalf("ParsePublicKey: %v", err)
	}
	return k
}

// newEntity makes a key with go-crypto directly, for keys GenerateKey would
// not make.
func newEntity(t testing.TB, cfg *packet.Config) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity("Test Key", "", "test@example.nz", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGenerateKey(t *testing.T) {
	ps := testParties(t)
	k := ps.patient.pub
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(k.Fingerprint) {
		t.Fatalf("Fingerprint = %q", k.Fingerprint)
	}
	if k.KeyIDString() != k.Fingerprint[24:] {
		t.Fatalf("KeyIDString = %s, fingerprint %s", k.KeyIDString(), k.Fingerprint)
	}
	if k.UserID != "Aroha Ngata <aroha@example.nz>" {
		t.Fatalf("UserID = %q", k.UserID)
	}
	if k.Algorithm != "EdDSA Ed25519 + ECDH Curve25519" {
		t.Fatalf("Algorithm = %q", k.Algorithm)
	}
	if k.Expires != nil || !k.Created.Equal(keyTime) {
		t.Fatalf("Created %v (want %v), Expires %v", k.Created, keyTime, k.Expires)
	}
	e := k.Entity
	if e.PrimaryKey.Version != 4 || e.PrimaryKey.PubKeyAlgo != packet.PubKeyAlgoEdDSA {
		t.Fatalf("primary key v%d algorithm %d, want v4 EdDSA (22)", e.PrimaryKey.Version, e.PrimaryKey.PubKeyAlgo)
	}
	if len(e.Subkeys) != 1 || e.Subkeys[0].PublicKey.PubKeyAlgo != packet.PubKeyAlgoECDH {
		t.Fatalf("want one ECDH (18) subkey, got %d subkeys", len(e.Subkeys))
	}
	if len(k.EncryptionKeyIDs) != 1 || k.EncryptionKeyIDs[0] != e.Subkeys[0].PublicKey.KeyId {
		t.Fatalf("EncryptionKeyIDs = %X", k.EncryptionKeyIDs)
	}
	// Armored is a normalized copy that parses to the same key.
	if again := mustParse(t, k.Armored, time.Now()); again.Fingerprint != k.Fingerprint {
		t.Fatal("Armored does not round-trip")
	}
	// Binary keys are accepted too.
	bin := dearmorKey(t, ps.patient.pubArmored)
	if again := mustParse(t, bin, time.Now()); again.Fingerprint != k.Fingerprint {
		t.Fatal("binary key does not parse to the same key")
	}

	// The private key is locked, every part of it, and matches.
	locked, err := pgp.CheckLockedPrivateKey(ps.patient.privArmored)
	if err != nil {
		t.Fatalf("CheckLockedPrivateKey: %v", err)
	}
	if locked.Fingerprint != k.Fingerprint || len(locked.SecretKeyIDs) != 2 || !locked.Matches(k) {
		t.Fatalf("locked key %+v does not match %s", locked, k.Fingerprint)
	}
	if locked.Matches(ps.team.pub) {
		t.Fatal("patient's private key matches the team key")
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(ps.patient.privArmored))
	if err != nil {
		t.Fatal(err)
	}
	if !el[0].PrivateKey.Encrypted || !el[0].Subkeys[0].PrivateKey.Encrypted {
		t.Fatal("generated private key is not locked")
	}

	if _, _, err := pgp.GenerateKey("No Passphrase", "x@example.nz", nil, time.Now()); err != pgp.ErrEmptyPassphrase {
		t.Fatalf("GenerateKey without passphrase: %v", err)
	}
	if _, _, err := pgp.GenerateKey("Bad <name>", "x@example.nz", []byte("p"), time.Now()); err == nil {
		t.Fatal("GenerateKey accepted a name with <>")
	}
}

func dearmorKey(t testing.TB, armored []byte) []byte {
	t.Helper()
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(block.Body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadPrivateKey(t *testing.T) {
	ps := testParties(t)
	_, err := pgp.ReadPrivateKey(ps.patient.privArmored, []byte("wrong"))
	wantErr(t, err, pgp.ErrWrongPassphrase, "wrong_passphrase")
	_, err = pgp.ReadPrivateKey(ps.patient.pubArmored, []byte("x"))
	wantErr(t, err, pgp.ErrNotPrivateKey, "not_private_key")
	_, err = pgp.ReadPrivateKey([]byte("garbage"), []byte("x"))
	wantErr(t, err, pgp.ErrMalformedKey, "malformed_key")
}

var (
	rsaOnce     sync.Once
	rsa2048     *openpgp.Entity
	rsa3072     *openpgp.Entity
	rsaKeyError error
)

// rsaKeys makes one RSA-2048 and one RSA-3072 key per test binary.
func rsaKeys(t testing.TB) (*openpgp.Entity, *openpgp.Entity) {
	rsaOnce.Do(func() {
		cfg := pgp.Config(keyTime)
		cfg.Algorithm = packet.PubKeyAlgoRSA
		cfg.RSABits = 2048
		if rsa2048, rsaKeyError = openpgp.NewEntity("Old RSA", "", "old@example.nz", cfg); rsaKeyError != nil {
			return
		}
		cfg.RSABits = 3072
		rsa3072, rsaKeyError = openpgp.NewEntity("RSA 3072", "", "rsa@example.nz", cfg)
	})
	if rsaKeyError != nil {
		t.Fatal(rsaKeyError)
	}
	return rsa2048, rsa3072
}

func TestParsePublicKeyAccepts(t *testing.T) {
	now := time.Now()
	_, rsa3 := rsaKeys(t)
	k := mustParse(t, serializePublic(t, rsa3), now)
	if k.Algorithm != "RSA 3072" || len(k.EncryptionKeyIDs) != 1 {
		t.Fatalf("RSA-3072 key: %q, %X", k.Algorithm, k.EncryptionKeyIDs)
	}

	// RFC 9580 Ed25519/X25519 algorithm ids on a v4 key: accepted.
	cfg := pgp.Config(keyTime)
	cfg.Algorithm = packet.PubKeyAlgoEd25519
	k = mustParse(t, serializePublic(t, newEntity(t, cfg)), now)
	if k.Algorithm != "Ed25519 + X25519" {
		t.Fatalf("Algorithm = %q", k.Algorithm)
	}

	// A key that expires later: accepted, with Expires set.
	cfg = pgp.Config(keyTime)
	cfg.KeyLifetimeSecs = 30 * 24 * 3600
	k = mustParse(t, serializePublic(t, newEntity(t, cfg)), now)
	if k.Expires == nil || !k.Expires.Equal(keyTime.Add(30*24*time.Hour)) {
		t.Fatalf("Expires = %v", k.Expires)
	}
}

func TestParsePublicKeyRefuses(t *testing.T) {
	ps := testParties(t)
	now := time.Now()
	rsa2, _ := rsaKeys(t)

	expired := func() []byte {
		cfg := pgp.Config(now.Add(-48 * time.Hour))
		cfg.KeyLifetimeSecs = 3600
		return serializePublic(t, newEntity(t, cfg))
	}
	revoked := func() []byte {
		e := newEntity(t, pgp.Config(keyTime))
		if err := e.RevokeKey(packet.KeySuperseded, "new key", pgp.Config(now.Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		return serializePublic(t, e)
	}
	subkeyRevoked := func() []byte {
		e := newEntity(t, pgp.Config(keyTime))
		if err := e.RevokeSubkey(&e.Subkeys[0], packet.KeyCompromised, "", pgp.Config(now.Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		return serializePublic(t, e)
	}
	subkeyExpired := func() []byte {
		e := newEntity(t, pgp.Config(now.Add(-48*time.Hour)))
		e.Subkeys = nil
		cfg := pgp.Config(now.Add(-48 * time.Hour))
		cfg.KeyLifetimeSecs = 3600
		if err := e.AddEncryptionSubkey(cfg); err != nil {
			t.Fatal(err)
		}
		return serializePublic(t, e)
	}
	noSubkey := func() []byte {
		e := newEntity(t, pgp.Config(keyTime))
		e.Subkeys = nil
		return serializePublic(t, e)
	}
	signOnlySubkey := func() []byte {
		e := newEntity(t, pgp.Config(keyTime))
		e.Subkeys = nil
		if err := e.AddSigningSubkey(pgp.Config(keyTime)); err != nil {
			t.Fatal(err)
		}
		return serializePublic(t, e)
	}
	ecdsa := func() []byte {
		cfg := pgp.Config(keyTime)
		cfg.Algorithm = packet.PubKeyAlgoECDSA
		cfg.Curve = packet.CurveNistP256
		return serializePublic(t, newEntity(t, cfg))
	}
	v6 := func() []byte {
		cfg := pgp.Config(keyTime)
		cfg.Algorithm = packet.PubKeyAlgoEd25519
		cfg.V6Keys = true
		return serializePublic(t, newEntity(t, cfg))
	}
	twoKeys := func() []byte {
		return append(dearmorKey(t, ps.patient.pubArmored), dearmorKey(t, ps.team.pubArmored)...)
	}
	twoArmored := func() []byte {
		return append(bytes.Clone(ps.patient.pubArmored), ps.team.pubArmored...)
	}

	tests := []struct {
		name string
		key  []byte
		want error
		code string
	}{
		{"garbage", []byte("not a key at all"), pgp.ErrMalformedKey, "malformed_key"},
		{"random binary", []byte{0x99, 0x01, 0x0d, 0x04, 0x50, 0x00}, pgp.ErrMalformedKey, "malformed_key"},
		{"empty", nil, pgp.ErrMalformedKey, "malformed_key"},
		{"armored message", pgp.Armor([]byte{0x84, 0x00}), pgp.ErrMalformedKey, "malformed_key"},
		{"two keys binary", twoKeys(), pgp.ErrMultipleKeys, "multiple_keys"},
		{"two keys armored", twoArmored(), pgp.ErrMultipleKeys, "multiple_keys"},
		{"private key armored", ps.patient.privArmored, pgp.ErrPrivateKeyGiven, "private_key_refused"},
		{"private key binary", dearmorKey(t, ps.patient.privArmored), pgp.ErrPrivateKeyGiven, "private_key_refused"},
		{"RSA-2048", serializePublic(t, rsa2), pgp.ErrWeakKey, "weak_key"},
		{"ECDSA P-256", ecdsa(), pgp.ErrUnsupportedKey, "unsupported_key"},
		{"v6 key", v6(), pgp.ErrUnsupportedKey, "unsupported_key"},
		{"expired", expired(), pgp.ErrKeyExpired, "key_expired"},
		{"revoked", revoked(), pgp.ErrKeyRevoked, "key_revoked"},
		{"encryption subkey revoked", subkeyRevoked(), pgp.ErrKeyRevoked, "key_revoked"},
		{"encryption subkey expired", subkeyExpired(), pgp.ErrKeyExpired, "key_expired"},
		{"no subkey", noSubkey(), pgp.ErrNoEncryptionKey, "no_encryption_subkey"},
		{"signing subkey only", signOnlySubkey(), pgp.ErrNoEncryptionKey, "no_encryption_subkey"},
		{"too large", bytes.Repeat([]byte{0x99}, pgp.MaxKeySize+1), pgp.ErrKeyTooLarge, "key_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := pgp.ParsePublicKey(tt.key, now)
			if err == nil {
				t.Fatalf("accepted %s (%s)", k.Fingerprint, k.Algorithm)
			}
			wantErr(t, err, tt.want, tt.code)
		})
	}

	// A key from a device whose clock runs fast is not valid yet.
	_, err := pgp.ParsePublicKey(ps.patient.pubArmored, keyTime.Add(-time.Minute))
	wantErr(t, err, pgp.ErrKeyNotYetValid, "key_not_yet_valid")

	// A key that is fine now is expired later.
	cfg := pgp.Config(keyTime)
	cfg.KeyLifetimeSecs = 3600 * 24
	later := serializePublic(t, newEntity(t, cfg))
	mustParse(t, later, now)
	_, err = pgp.ParsePublicKey(later, now.Add(48*time.Hour))
	wantErr(t, err, pgp.ErrKeyExpired, "key_expired")
}

func TestCheckLockedPrivateKeyRefuses(t *testing.T) {
	ps := testParties(t)
	pass := []byte("passphrase")

	plain := newEntity(t, pgp.Config(keyTime))
	primaryOnly := newEntity(t, pgp.Config(keyTime))
	if err := primaryOnly.PrivateKey.EncryptWithConfig(pass, pgp.Config(keyTime)); err != nil {
		t.Fatal(err)
	}
	subkeyOnly := newEntity(t, pgp.Config(keyTime))
	if err := subkeyOnly.Subkeys[0].PrivateKey.EncryptWithConfig(pass, pgp.Config(keyTime)); err != nil {
		t.Fatal(err)
	}
	salted := newEntity(t, pgp.Config(keyTime))
	weakCfg := pgp.Config(keyTime)
	weakCfg.S2KConfig = &s2k.Config{S2KMode: s2k.SaltedS2K, Hash: crypto.SHA256, PassphraseIsHighEntropy: true}
	if err := salted.EncryptPrivateKeys(pass, weakCfg); err != nil {
		t.Fatal(err)
	}
	lowCount := newEntity(t, pgp.Config(keyTime))
	// go-crypto's own PrivateKey.Encrypt uses 65536 iterations: the minimum we accept.
	for _, pk := range []*packet.PrivateKey{lowCount.PrivateKey, lowCount.Subkeys[0].PrivateKey} {
		if err := pk.Encrypt(pass); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pgp.CheckLockedPrivateKey(serializePrivate(t, lowCount)); err != nil {
		t.Fatalf("65536-iteration key refused: %v", err)
	}

	tests := []struct {
		name string
		key  []byte
		want error
		code string
	}{
		{"unencrypted", serializePrivate(t, plain), pgp.ErrKeyNotLocked, "key_not_locked"},
		{"primary locked, subkey plain", serializePrivate(t, primaryOnly), pgp.ErrKeyNotLocked, "key_not_locked"},
		{"subkey locked, primary plain", serializePrivate(t, subkeyOnly), pgp.ErrKeyNotLocked, "key_not_locked"},
		{"salted S2K", serializePrivate(t, salted), pgp.ErrWeakKeyProtection, "weak_key_protection"},
		{"public key", ps.patient.pubArmored, pgp.ErrNotPrivateKey, "not_private_key"},
		{"two keys", append(bytes.Clone(ps.patient.privArmored), ps.team.privArmored...), pgp.ErrMultipleKeys, "multiple_keys"},
		{"garbage", []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----"), pgp.ErrMalformedKey, "malformed_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pgp.CheckLockedPrivateKey(tt.key)
			wantErr(t, err, tt.want, tt.code)
		})
	}
}
