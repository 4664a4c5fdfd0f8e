package pgp

import (
	"bytes"
	goerrors "errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// PublicKey is a public key that passed ParsePublicKey's checks at a given
// time. Treat it as read-only.
type PublicKey struct {
	Fingerprint string // primary key fingerprint, upper-case hex
	KeyID       uint64 // primary key id
	// EncryptionKeyIDs are the key ids of every encryption key that was
	// valid (bound, not expired, not revoked) when the key was parsed,
	// usually one subkey. A message to this key names one of them.
	EncryptionKeyIDs []uint64
	UserID           string     // primary user id, such as "Aroha Ngata <aroha@example.nz>"
	Algorithm        string     // such as "EdDSA Ed25519 + ECDH Curve25519"
	Created          time.Time  // primary key creation
	Expires          *time.Time // primary key expiry; nil if it never expires
	Armored          []byte     // the key re-serialized and armored by go-crypto
	Entity           *openpgp.Entity
}

// HasEncryptionKey reports whether keyID is one of k's encryption key ids.
func (k *PublicKey) HasEncryptionKey(keyID uint64) bool {
	return contains(k.EncryptionKeyIDs, keyID)
}

// KeyIDString is the primary key id as 16 upper-case hex digits.
func (k *PublicKey) KeyIDString() string { return keyIDString(k.KeyID) }

// Keyring collects the entities of keys, for Decrypt's verifyWith.
func Keyring(keys ...*PublicKey) openpgp.EntityList {
	el := make(openpgp.EntityList, 0, len(keys))
	for _, k := range keys {
		if k != nil && k.Entity != nil {
			el = append(el, k.Entity)
		}
	}
	return el
}

// GenerateKey makes a v4 key for name and email: an EdDSA/Ed25519 primary key
// for signing and certifying and an ECDH/Curve25519 encryption subkey, both
// created at now and never expiring. The private key comes back armored with
// every secret part locked by passphrase (AES-256, iterated+salted S2K); the
// public key comes back armored. It runs on a client or in tests: the server
// never holds a passphrase.
func GenerateKey(name, email string, passphrase []byte, now time.Time) (privateArmored, publicArmored []byte, err error) {
	if len(passphrase) == 0 {
		return nil, nil, ErrEmptyPassphrase
	}
	if now.IsZero() {
		now = time.Now()
	}
	cfg := Config(now)
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("pgp: generating key: %w", err)
	}
	var pub bytes.Buffer
	if err := e.Serialize(&pub); err != nil {
		return nil, nil, fmt.Errorf("pgp: serializing public key: %w", err)
	}
	if err := e.EncryptPrivateKeys(passphrase, cfg); err != nil {
		return nil, nil, fmt.Errorf("pgp: locking private key: %w", err)
	}
	var priv bytes.Buffer
	// The self-signatures were made by NewEntity; a locked key cannot sign again.
	if err := e.SerializePrivateWithoutSigning(&priv, cfg); err != nil {
		return nil, nil, fmt.Errorf("pgp: serializing private key: %w", err)
	}
	return armorBlock(priv.Bytes(), privateKeyType), armorBlock(pub.Bytes(), publicKeyType), nil
}

// ParsePublicKey reads one OpenPGP public key, armored or binary, and checks
// that Karere may encrypt to it at now. It accepts v4 keys whose primary key
// and valid subkeys are EdDSA/Ed25519, ECDH/Curve25519, the RFC 9580 Ed25519
// and X25519 algorithms, or RSA of at least MinRSABits bits. It refuses, each
// with its own error: garbage (ErrMalformedKey), a key over MaxKeySize
// (ErrKeyTooLarge), more than one key (ErrMultipleKeys), a private key
// (ErrPrivateKeyGiven), RSA below MinRSABits, DSA, ElGamal or a weak curve
// (ErrWeakKey), other versions and algorithms (ErrUnsupportedKey), a key
// created after now (ErrKeyNotYetValid: a client clock running fast), an
// expired key (ErrKeyExpired), a revoked key or one whose encryption subkeys are all
// revoked (ErrKeyRevoked), and a key with no valid encryption key
// (ErrNoEncryptionKey). Self-signatures and subkey bindings are verified by
// go-crypto; keys with unverifiable bindings are refused as malformed.
func ParsePublicKey(data []byte, now time.Time) (*PublicKey, error) {
	if now.IsZero() {
		now = time.Now()
	}
	bin, err := keyBinary(data, publicKeyType)
	if err != nil {
		return nil, err
	}
	if err := countKeys(bin, false); err != nil {
		return nil, err
	}
	e, err := readOneEntity(bin)
	if err != nil {
		return nil, err
	}
	if e.PrivateKey != nil {
		return nil, ErrPrivateKeyGiven
	}
	return checkEntity(e, now)
}

// keyBinary returns the binary form of an armored or binary key.
func keyBinary(data []byte, blockType string) ([]byte, error) {
	if len(data) > MaxKeySize*2 {
		return nil, ErrKeyTooLarge
	}
	if len(data) > 0 && data[0]&0x80 != 0 {
		if len(data) > MaxKeySize {
			return nil, ErrKeyTooLarge
		}
		return data, nil
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, wrap(ErrMalformedKey, "empty input")
	}
	if blockType == publicKeyType && bytes.HasPrefix(trimmed, []byte("-----BEGIN "+privateKeyType+"-----")) {
		return nil, ErrPrivateKeyGiven
	}
	if blockType == privateKeyType && bytes.HasPrefix(trimmed, []byte("-----BEGIN "+publicKeyType+"-----")) {
		return nil, ErrNotPrivateKey
	}
	bin, err := dearmor(trimmed, blockType, MaxKeySize)
	switch {
	case goerrors.Is(err, ErrTooLarge):
		return nil, ErrKeyTooLarge
	case goerrors.Is(err, ErrTrailingData):
		return nil, wrap(ErrMultipleKeys, "more than one armored block")
	case err != nil:
		return nil, wrap(ErrMalformedKey, "%v", strings.TrimPrefix(err.Error(), "pgp: "))
	}
	return bin, nil
}

// countKeys frames the packets of a key block and refuses more than one
// primary key and, for a public key, any secret key packet. (go-crypto's
// ReadKeyRing silently skips keys it cannot read, so it cannot tell.)
func countKeys(bin []byte, private bool) error {
	primaries := 0
	for off := 0; off < len(bin); {
		p, err := nextPacket(bin, off)
		if err != nil {
			return wrap(ErrMalformedKey, "%v", strings.TrimPrefix(err.Error(), "pgp: "))
		}
		off = p.end
		switch p.tag {
		case tagPublicKey, tagSecretKey:
			primaries++
			if !private && p.tag == tagSecretKey {
				return ErrPrivateKeyGiven
			}
			if private && p.tag == tagPublicKey {
				if primaries == 1 {
					return ErrNotPrivateKey
				}
				return ErrMultipleKeys
			}
		case tagSecretSubkey:
			if !private {
				return ErrPrivateKeyGiven
			}
		}
	}
	switch {
	case primaries == 0:
		return wrap(ErrMalformedKey, "no key")
	case primaries > 1:
		return ErrMultipleKeys
	}
	return nil
}

// readOneEntity parses a single framed key with go-crypto.
func readOneEntity(bin []byte) (e *openpgp.Entity, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, wrap(ErrMalformedKey, "unparsable key")
		}
	}()
	el, err := openpgp.ReadKeyRing(bytes.NewReader(bin))
	if err != nil {
		var unsupported pgperrors.UnsupportedError
		if goerrors.As(err, &unsupported) {
			return nil, wrap(ErrUnsupportedKey, "%s", string(unsupported))
		}
		return nil, wrap(ErrMalformedKey, "%v", err)
	}
	switch len(el) {
	case 0:
		return nil, wrap(ErrMalformedKey, "no key")
	case 1:
		return el[0], nil
	}
	return nil, ErrMultipleKeys
}

// checkEntity applies ParsePublicKey's rules to a parsed key.
func checkEntity(e *openpgp.Entity, now time.Time) (*PublicKey, error) {
	if e.PrimaryKey.Version != 4 {
		return nil, wrap(ErrUnsupportedKey, "version %d key", e.PrimaryKey.Version)
	}
	if err := checkAlgorithm(e.PrimaryKey); err != nil {
		return nil, err
	}
	selfSig, identity := e.PrimarySelfSignature()
	if selfSig == nil || identity == nil {
		return nil, wrap(ErrMalformedKey, "no self-signed user id")
	}
	if e.Revoked(now) || identity.Revoked(now) {
		return nil, ErrKeyRevoked
	}
	if e.PrimaryKey.CreationTime.Unix() > now.Unix() || selfSig.CreationTime.Unix() > now.Unix() {
		// GnuPG and go-crypto would not encrypt to it yet either.
		return nil, ErrKeyNotYetValid
	}
	if e.PrimaryKey.KeyExpired(selfSig, now) || selfSig.SigExpired(now) {
		return nil, ErrKeyExpired
	}

	var encIDs []uint64
	var encAlgo string
	revokedEnc, expiredEnc := 0, 0
	for i := range e.Subkeys {
		sub := &e.Subkeys[i]
		if sub.Revoked(now) {
			if encryptionCapable(sub.PublicKey, sub.Sig) {
				revokedEnc++
			}
			continue
		}
		if sub.PublicKey.KeyExpired(sub.Sig, now) || sub.Sig.SigExpired(now) {
			if encryptionCapable(sub.PublicKey, sub.Sig) {
				expiredEnc++
			}
			continue
		}
		if sub.PublicKey.Version != 4 {
			return nil, wrap(ErrUnsupportedKey, "version %d subkey", sub.PublicKey.Version)
		}
		if err := checkAlgorithm(sub.PublicKey); err != nil {
			return nil, err
		}
		if encryptionCapable(sub.PublicKey, sub.Sig) && !contains(encIDs, sub.PublicKey.KeyId) {
			encIDs = append(encIDs, sub.PublicKey.KeyId)
			encAlgo = algorithmName(sub.PublicKey)
		}
	}
	if len(encIDs) == 0 && encryptionCapable(e.PrimaryKey, selfSig) {
		// An RSA primary key flagged for encryption, with no subkey.
		encIDs = append(encIDs, e.PrimaryKey.KeyId)
		encAlgo = algorithmName(e.PrimaryKey)
	}
	if len(encIDs) == 0 {
		switch {
		case revokedEnc > 0 && expiredEnc == 0:
			return nil, wrap(ErrKeyRevoked, "every encryption subkey is revoked")
		case expiredEnc > 0:
			return nil, wrap(ErrKeyExpired, "every encryption subkey has expired")
		}
		return nil, ErrNoEncryptionKey
	}

	var out bytes.Buffer
	if err := e.Serialize(&out); err != nil {
		return nil, wrap(ErrMalformedKey, "re-serializing: %v", err)
	}
	k := &PublicKey{
		Fingerprint:      fmt.Sprintf("%X", e.PrimaryKey.Fingerprint),
		KeyID:            e.PrimaryKey.KeyId,
		EncryptionKeyIDs: encIDs,
		UserID:           identity.Name,
		Algorithm:        algorithmName(e.PrimaryKey),
		Created:          e.PrimaryKey.CreationTime,
		Armored:          armorBlock(out.Bytes(), publicKeyType),
		Entity:           e,
	}
	if encAlgo != "" && encAlgo != k.Algorithm {
		k.Algorithm += " + " + encAlgo
	}
	if selfSig.KeyLifetimeSecs != nil && *selfSig.KeyLifetimeSecs != 0 {
		exp := e.PrimaryKey.CreationTime.Add(time.Duration(*selfSig.KeyLifetimeSecs) * time.Second)
		k.Expires = &exp
	}
	return k, nil
}

// encryptionCapable reports whether a key is bound for encrypting
// communications (what go-crypto and GnuPG pick when encrypting a message).
func encryptionCapable(pk *packet.PublicKey, sig *packet.Signature) bool {
	return sig != nil && sig.FlagsValid && sig.FlagEncryptCommunications && pk.PubKeyAlgo.CanEncrypt()
}

// checkAlgorithm refuses weak and unsupported public key algorithms.
func checkAlgorithm(pk *packet.PublicKey) error {
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		bits, err := pk.BitLength()
		if err != nil {
			return wrap(ErrMalformedKey, "RSA key")
		}
		if bits < MinRSABits {
			return wrap(ErrWeakKey, "RSA %d bits (at least %d needed)", bits, MinRSABits)
		}
		return nil
	case packet.PubKeyAlgoEdDSA, packet.PubKeyAlgoECDH:
		curve, err := pk.Curve()
		if err != nil {
			return wrap(ErrUnsupportedKey, "unknown curve")
		}
		if curve != packet.Curve25519 {
			return wrap(ErrUnsupportedKey, "curve %s", curve)
		}
		return nil
	case packet.PubKeyAlgoEd25519, packet.PubKeyAlgoX25519:
		return nil
	case packet.PubKeyAlgoDSA, packet.PubKeyAlgoElGamal, 20: // 20: ElGamal sign+encrypt, withdrawn
		return wrap(ErrWeakKey, "%s", algorithmName(pk))
	}
	return wrap(ErrUnsupportedKey, "%s", algorithmName(pk))
}

// algorithmName describes a key's algorithm for people.
func algorithmName(pk *packet.PublicKey) string {
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		bits, _ := pk.BitLength()
		return fmt.Sprintf("RSA %d", bits)
	case packet.PubKeyAlgoEdDSA:
		if c, err := pk.Curve(); err == nil && c == packet.Curve25519 {
			return "EdDSA Ed25519"
		}
		return "EdDSA"
	case packet.PubKeyAlgoECDH:
		if c, err := pk.Curve(); err == nil {
			return "ECDH " + string(c)
		}
		return "ECDH"
	case packet.PubKeyAlgoECDSA:
		if c, err := pk.Curve(); err == nil {
			return "ECDSA " + string(c)
		}
		return "ECDSA"
	case packet.PubKeyAlgoEd25519:
		return "Ed25519"
	case packet.PubKeyAlgoX25519:
		return "X25519"
	case packet.PubKeyAlgoEd448:
		return "Ed448"
	case packet.PubKeyAlgoX448:
		return "X448"
	case packet.PubKeyAlgoDSA:
		bits, _ := pk.BitLength()
		return fmt.Sprintf("DSA %d", bits)
	case packet.PubKeyAlgoElGamal, 20:
		bits, _ := pk.BitLength()
		return fmt.Sprintf("ElGamal %d", bits)
	}
	return fmt.Sprintf("algorithm %d", pk.PubKeyAlgo)
}
