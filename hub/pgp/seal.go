package pgp

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Seal encrypts a plaintext that reached the server unencrypted (an SMS or
// ordinary email reply) to every recipient key, so that the plaintext can be
// dropped. It is the one place the server encrypts; it has no signing key, so
// the message is not signed. The result is a binary message that passes
// Inspect and CheckRecipients with the same keys: one session-key packet per
// currently valid encryption key of each recipient (usually one each), then
// a SEIPDv1 packet (AES-256 unless a recipient's key does not list it, then
// AES-128, which every implementation must read) holding a UTF-8 literal
// packet, uncompressed.
func Seal(plaintext []byte, recipients ...*PublicKey) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errNoRecipientKeys
	}
	now := time.Now()
	cfg := Config(now)
	cipher := packet.CipherAES256
	var keys []*packet.PublicKey
	seen := map[uint64]bool{}
	for _, r := range recipients {
		if r == nil || r.Entity == nil {
			return nil, errNoRecipientKeys
		}
		if !prefersAES256(r) {
			cipher = packet.CipherAES128
		}
		for _, id := range r.EncryptionKeyIDs {
			if seen[id] {
				continue
			}
			pk := encryptionKey(r, id)
			if pk == nil {
				return nil, fmt.Errorf("pgp: key %s lost its encryption key %s", r.Fingerprint, keyIDString(id))
			}
			seen[id] = true
			keys = append(keys, pk)
		}
	}

	sessionKey := make([]byte, cipher.KeySize())
	if _, err := rand.Read(sessionKey); err != nil {
		return nil, fmt.Errorf("pgp: session key: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(plaintext) + 128*len(keys) + 128)
	for _, pk := range keys {
		if err := packet.SerializeEncryptedKeyAEAD(&buf, pk, cipher, false, sessionKey, cfg); err != nil {
			return nil, fmt.Errorf("pgp: encrypting session key: %w", err)
		}
	}
	encrypted, err := packet.SerializeSymmetricallyEncrypted(&buf, cipher, false, packet.CipherSuite{}, sessionKey, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgp: encrypting: %w", err)
	}
	literal, err := packet.SerializeLiteral(encrypted, false, "", uint32(now.Unix()))
	if err != nil {
		return nil, fmt.Errorf("pgp: encrypting: %w", err)
	}
	if _, err := literal.Write(plaintext); err != nil {
		return nil, fmt.Errorf("pgp: encrypting: %w", err)
	}
	if err := literal.Close(); err != nil { // closes the encrypted packet too, writing the MDC
		return nil, fmt.Errorf("pgp: encrypting: %w", err)
	}
	return buf.Bytes(), nil
}

// prefersAES256 reports whether a key's preferences list AES-256.
func prefersAES256(k *PublicKey) bool {
	sig, _ := k.Entity.PrimarySelfSignature()
	if sig == nil {
		return false
	}
	for _, c := range sig.PreferredSymmetric {
		if packet.CipherFunction(c) == packet.CipherAES256 {
			return true
		}
	}
	return false
}

// encryptionKey finds the packet of one of k's encryption key ids.
func encryptionKey(k *PublicKey, id uint64) *packet.PublicKey {
	if k.Entity.PrimaryKey.KeyId == id {
		return k.Entity.PrimaryKey
	}
	for _, sub := range k.Entity.Subkeys {
		if sub.PublicKey.KeyId == id {
			return sub.PublicKey
		}
	}
	return nil
}
