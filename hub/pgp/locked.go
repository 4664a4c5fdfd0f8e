package pgp

import (
	"bytes"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// LockedKey describes a passphrase-locked private key that passed
// CheckLockedPrivateKey.
type LockedKey struct {
	Fingerprint string // primary key fingerprint, upper-case hex
	KeyID       uint64 // primary key id
	// SecretKeyIDs are the key ids of the primary key and of every subkey
	// whose (locked) secret part the block carries.
	SecretKeyIDs []uint64
}

// Matches reports whether k is the private half of pub: the same primary
// key, carrying the secret part of every encryption key of pub.
func (k *LockedKey) Matches(pub *PublicKey) bool {
	if k == nil || pub == nil || k.Fingerprint != pub.Fingerprint {
		return false
	}
	for _, id := range pub.EncryptionKeyIDs {
		if !contains(k.SecretKeyIDs, id) {
			return false
		}
	}
	return true
}

// Minimum S2K strength accepted in a stored private key.
const minS2KCount = 65536 // RFC 9580 section 3.7.1.3 recommends at least this

// CheckLockedPrivateKey parses one private key, armored or binary, that the
// server is asked to keep for a user's other devices, without unlocking it.
// It refuses the key (ErrKeyNotLocked) unless every secret key packet,
// primary and subkeys, is encrypted with a passphrase: a plain secret part or
// a GnuPG stub (secret part missing or on a card) is refused. It also
// refuses weak protection (ErrWeakKeyProtection): the 16-bit checksum mode
// (S2K usage 255, malleable), simple or salted S2K, an MD5 S2K hash, fewer
// than 65536 iterations, or a 64-bit block cipher. Compare the result with
// the registered public key using LockedKey.Matches.
func CheckLockedPrivateKey(data []byte) (*LockedKey, error) {
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
	if e.PrimaryKey.Version != 4 {
		return nil, wrap(ErrUnsupportedKey, "version %d key", e.PrimaryKey.Version)
	}
	k := &LockedKey{
		Fingerprint: fmt.Sprintf("%X", e.PrimaryKey.Fingerprint),
		KeyID:       e.PrimaryKey.KeyId,
	}
	for off := 0; off < len(bin); {
		p, err := nextPacket(bin, off)
		if err != nil {
			return nil, wrap(ErrMalformedKey, "framing") // countKeys framed it already
		}
		off = p.end
		if p.tag != tagSecretKey && p.tag != tagSecretSubkey {
			continue
		}
		id, err := checkSecretPacket(p.raw(bin), p.body)
		if err != nil {
			return nil, err
		}
		k.SecretKeyIDs = append(k.SecretKeyIDs, id)
	}
	return k, nil
}

// checkSecretPacket checks that one v4 secret key packet is locked well.
// raw is the whole packet, body its body.
func checkSecretPacket(raw, body []byte) (uint64, error) {
	pk, err := parseSecretPacket(raw)
	if err != nil {
		return 0, err
	}
	if pk.Version != 4 {
		return 0, wrap(ErrUnsupportedKey, "version %d key", pk.Version)
	}
	if pk.Dummy() {
		return 0, wrap(ErrKeyNotLocked, "secret part of key %s is missing (GnuPG stub)", keyIDString(pk.KeyId))
	}
	if !pk.Encrypted {
		return 0, wrap(ErrKeyNotLocked, "secret part of key %s is not encrypted", keyIDString(pk.KeyId))
	}

	// go-crypto keeps the S2K details private: read them from the packet.
	// The secret key body starts with the public key body.
	var pub bytes.Buffer
	if err := pk.PublicKey.Serialize(&pub); err != nil {
		return 0, wrap(ErrMalformedKey, "%v", err)
	}
	pp, err := nextPacket(pub.Bytes(), 0)
	if err != nil || !bytes.HasPrefix(body, pp.body) {
		return 0, wrap(ErrMalformedKey, "secret key packet does not start with its public key")
	}
	s := body[len(pp.body):]
	weak := func(why string) (uint64, error) {
		return 0, wrap(ErrWeakKeyProtection, "key %s: %s", keyIDString(pk.KeyId), why)
	}
	if len(s) < 3 {
		return 0, wrap(ErrMalformedKey, "secret key packet too short")
	}
	usage, cipher := s[0], s[1]
	i := 2
	switch usage {
	case 254: // CFB with SHA-1 integrity check
	case 253: // AEAD
		i++ // AEAD mode octet
	case 255:
		return weak("16-bit checksum protection (S2K usage 255)")
	default:
		return weak(fmt.Sprintf("S2K usage %d", usage))
	}
	switch packet.CipherFunction(cipher) {
	case packet.CipherAES128, packet.CipherAES192, packet.CipherAES256:
	default:
		return weak(fmt.Sprintf("cipher %d", cipher))
	}
	if len(s) < i+2 {
		return 0, wrap(ErrMalformedKey, "secret key packet too short")
	}
	switch mode, hash := s[i], s[i+1]; mode {
	case 3: // iterated and salted: hash, 8-octet salt, coded count
		if len(s) < i+11 {
			return 0, wrap(ErrMalformedKey, "secret key packet too short")
		}
		if hash == 1 {
			return weak("MD5 S2K")
		}
		c := s[i+10]
		if count := (16 + int(c&15)) << (uint32(c>>4) + 6); count < minS2KCount {
			return weak(fmt.Sprintf("S2K count %d", count))
		}
	case 4: // Argon2
	default:
		return weak(fmt.Sprintf("S2K mode %d", mode))
	}
	return pk.KeyId, nil
}

func parseSecretPacket(raw []byte) (pk *packet.PrivateKey, err error) {
	defer func() {
		if r := recover(); r != nil {
			pk, err = nil, wrap(ErrMalformedKey, "unparsable secret key packet")
		}
	}()
	p, err := packet.Read(bytes.NewReader(raw))
	if err != nil {
		return nil, wrap(ErrMalformedKey, "secret key packet: %v", err)
	}
	pk, ok := p.(*packet.PrivateKey)
	if !ok {
		return nil, wrap(ErrMalformedKey, "secret key packet")
	}
	return pk, nil
}
