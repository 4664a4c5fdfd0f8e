package pgp

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// The functions in this file run on patients' and staff members' devices
// (the Go client and CLI) and in tests: they use private keys, which the
// server never unlocks.

// ReadPrivateKey parses one armored (or binary) private key and unlocks it
// with passphrase. A wrong passphrase gives ErrWrongPassphrase. A key whose
// secret parts are not encrypted is returned as it is.
func ReadPrivateKey(data, passphrase []byte) (*openpgp.Entity, error) {
	bin, err := keyBinary(data, privateKeyType)
	if err != nil {
		return nil, err
	}
	if err := countKeys(bin, true); err != nil {
		return nil, err
	}
	e, err := readOneEntity(bin)
	if err != nil {
		return nil, err
	}
	if e.PrivateKey == nil {
		return nil, ErrNotPrivateKey
	}
	if err := e.DecryptPrivateKeys(passphrase); err != nil {
		return nil, ErrWrongPassphrase
	}
	return e, nil
}

// Encrypt signs plaintext with signer (an unlocked private key, see
// ReadPrivateKey) and encrypts it, signature inside, to the newest valid
// encryption key of each recipient, the way GnuPG does. It returns an armored
// message (SEIPDv1, AES-256 when every recipient lists it, uncompressed) that
// GnuPG 2.2 and OpenPGP.js read.
func Encrypt(plaintext []byte, to []*PublicKey, signer *openpgp.Entity) ([]byte, error) {
	if signer == nil {
		return nil, errNoSigner
	}
	if signer.PrivateKey == nil {
		return nil, ErrNotPrivateKey
	}
	if len(to) == 0 {
		return nil, errNoRecipientKeys
	}
	cfg := Config(time.Now())
	if sk, ok := signer.SigningKey(cfg.Now()); !ok || sk.PrivateKey == nil {
		return nil, fmt.Errorf("pgp: signer has no valid signing key")
	} else if sk.PrivateKey.Encrypted {
		return nil, ErrKeyLocked
	}
	entities := make([]*openpgp.Entity, 0, len(to))
	for _, k := range to {
		if k == nil || k.Entity == nil {
			return nil, errNoRecipientKeys
		}
		entities = append(entities, k.Entity)
	}
	var bin bytes.Buffer
	w, err := openpgp.Encrypt(&bin, entities, signer, &openpgp.FileHints{}, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgp: encrypting: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("pgp: encrypting: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("pgp: encrypting: %w", err)
	}
	return Armor(bin.Bytes()), nil
}

// SignatureStatus is the outcome of checking a message's signature.
type SignatureStatus int

const (
	// Unsigned: the message carries no signature (for example one the
	// server sealed on arrival).
	Unsigned SignatureStatus = iota
	// SignatureGood: signed by a key in verifyWith, and the signature and
	// the key were valid.
	SignatureGood
	// SignatureBad: signed by a key in verifyWith, but the signature does
	// not verify, or the key was expired or revoked.
	SignatureBad
	// SignatureUnknownSigner: signed by a key not in verifyWith.
	SignatureUnknownSigner
)

func (s SignatureStatus) String() string {
	switch s {
	case Unsigned:
		return "unsigned"
	case SignatureGood:
		return "good"
	case SignatureBad:
		return "bad"
	case SignatureUnknownSigner:
		return "unknown_signer"
	}
	return fmt.Sprintf("SignatureStatus(%d)", int(s))
}

// Plaintext is a decrypted message.
type Plaintext struct {
	Data      []byte
	Signature SignatureStatus
	// SignatureError tells why a signature is SignatureBad. It is learned
	// only after the whole message passed its integrity check.
	SignatureError error
	// SignerKeyID is the key id that signed (the signing subkey or primary
	// key), 0 if unsigned.
	SignerKeyID uint64
	// SignerFingerprint is the primary fingerprint of the signer when it is
	// in verifyWith (SignatureGood or SignatureBad), else "".
	SignerFingerprint string
	// SignedAt is the signature's creation time, when verified.
	SignedAt time.Time
	// DecryptedWith is the key id of the key that opened the message.
	DecryptedWith uint64
}

// Decrypt decrypts an armored or binary message with keys (unlocked private
// keys, see ReadPrivateKey) and checks its signature against verifyWith
// (public keys, see Keyring; may be nil).
//
// The message first goes through Inspect (which only reads public packet
// headers), so structural refusals come back as Inspect's errors, and a
// message naming none of keys' key ids gives ErrNoDecryptionKey. After that,
// every failure (a session key that does not decrypt, a damaged or tampered
// packet, a failed integrity check, a plaintext over MaxPlaintextSize) gives
// the single error ErrDecrypt, with no detail, so that a sender cannot use
// the reader as a decryption oracle (compare go-crypto's
// HandleSensitiveParsingError). A bad signature is not an error: check
// Plaintext.Signature.
func Decrypt(msg []byte, keys openpgp.EntityList, verifyWith openpgp.EntityList) (*Plaintext, error) {
	env, err := Inspect(bytes.NewReader(msg), int64(max(len(msg), 1)))
	if err != nil {
		return nil, err
	}
	var usable, locked bool
	for _, id := range env.Recipients {
		for _, k := range keys.KeysById(id) {
			if k.PrivateKey == nil {
				continue
			}
			if k.PrivateKey.Encrypted {
				locked = true
				continue
			}
			usable = true
		}
	}
	if !usable {
		if locked {
			return nil, ErrKeyLocked
		}
		return nil, ErrNoDecryptionKey
	}

	cfg := Config(time.Now())
	md, err := openpgp.ReadMessage(bytes.NewReader(env.Binary), splitKeyRing{keys, verifyWith}, nil, cfg)
	if err != nil {
		return nil, ErrDecrypt
	}
	data, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, MaxPlaintextSize+1))
	if err != nil || len(data) > MaxPlaintextSize {
		return nil, ErrDecrypt
	}
	// The body was read to EOF without error: the MDC or AEAD tags checked
	// out, and so did the signature, if any, as reported below.
	pt := &Plaintext{Data: data}
	if md.DecryptedWith.PublicKey != nil {
		pt.DecryptedWith = md.DecryptedWith.PublicKey.KeyId
	}
	switch {
	case !md.IsSigned:
		pt.Signature = Unsigned
	case md.SignedBy == nil:
		pt.Signature = SignatureUnknownSigner
		pt.SignerKeyID = md.SignedByKeyId
	default:
		pt.SignerKeyID = md.SignedByKeyId
		pt.SignerFingerprint = fmt.Sprintf("%X", md.SignedBy.Entity.PrimaryKey.Fingerprint)
		switch {
		case md.SignatureError != nil:
			pt.Signature = SignatureBad
			pt.SignatureError = md.SignatureError
		case md.Signature == nil:
			pt.Signature = SignatureBad
			pt.SignatureError = fmt.Errorf("pgp: no signature packet")
		default:
			pt.Signature = SignatureGood
			pt.SignedAt = md.Signature.CreationTime
		}
	}
	return pt, nil
}

// splitKeyRing gives go-crypto private keys for decryption and public keys
// for signature checks, so a decryption key never vouches for a signature
// by itself being present.
type splitKeyRing struct {
	decrypt, verify openpgp.EntityList
}

func (k splitKeyRing) KeysById(id uint64) []openpgp.Key { return k.decrypt.KeysById(id) }

func (k splitKeyRing) KeysByIdUsage(id uint64, usage byte) []openpgp.Key {
	return k.verify.KeysByIdUsage(id, usage)
}

func (k splitKeyRing) DecryptionKeys() []openpgp.Key { return k.decrypt.DecryptionKeys() }

var _ openpgp.KeyRing = splitKeyRing{}
