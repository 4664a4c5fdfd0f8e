package pgp

import (
	"crypto"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
)

const (
	// MinRSABits is the smallest RSA modulus accepted in a key: 3072 bits
	// gives about 128-bit security, matching Curve25519 and AES-128.
	MinRSABits = 3072

	// S2KCount is the iteration count (bytes hashed) of the iterated and
	// salted S2K that locks generated private keys. 16 MiB is the default of
	// go-crypto and OpenPGP.js, which must unlock the key in a browser;
	// GnuPG 2.2 reads it. (Argon2 would be stronger, but GnuPG 2.2 cannot
	// read it.)
	S2KCount = 16 << 20

	// MaxKeySize bounds an OpenPGP key given to ParsePublicKey or
	// CheckLockedPrivateKey. Ordinary keys are a few KiB; the limit leaves
	// room for RSA keys with many signatures.
	MaxKeySize = 1 << 20

	// MaxPlaintextSize bounds what Decrypt will produce, including data that
	// was compressed inside the encryption (a compression bomb stops here).
	MaxPlaintextSize = 64 << 20
)

// Config returns the go-crypto configuration every Karere component uses
// (server and clients), a fresh value on each call so that callers may
// adjust it without affecting others. now is the time used for new keys and
// signatures and for checking key validity; the zero time means the wall
// clock at each use.
//
// It makes v4 keys with an EdDSA/Ed25519 primary key and an ECDH/Curve25519
// encryption subkey (the "legacy" ids that GnuPG 2.2, OpenPGP.js and
// go-crypto all read), prefers AES-256 and SHA-256, never compresses,
// writes SEIPDv1 (MDC) data that GnuPG 2.2 reads, and locks private keys
// with AES-256 and iterated+salted SHA-256 S2K. Without a config go-crypto
// would make RSA-2048 keys.
func Config(now time.Time) *packet.Config {
	maxPlain := int64(MaxPlaintextSize)
	cfg := &packet.Config{
		DefaultHash:            crypto.SHA256,
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		Algorithm:              packet.PubKeyAlgoEdDSA,
		Curve:                  packet.Curve25519,
		S2KConfig: &s2k.Config{
			S2KMode:  s2k.IteratedSaltedS2K,
			Hash:     crypto.SHA256,
			S2KCount: S2KCount,
		},
		MinRSABits:                 MinRSABits,
		MaxDecompressedMessageSize: &maxPlain,
	}
	if !now.IsZero() {
		cfg.Time = func() time.Time { return now }
	}
	return cfg
}
