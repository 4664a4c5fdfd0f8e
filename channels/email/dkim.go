package email

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"

	"github.com/emersion/go-msgauth/dkim"
)

// ReasonDKIMKey is the permanent reason for a practice DKIM key that cannot
// be used: sending unsigned instead would fail the domain's DMARC policy.
const ReasonDKIMKey = "dkim_key_invalid"

var errDKIMKey = errors.New("email: DKIM key is not an RSA (at least 1024 bits, RFC 8301) or Ed25519 private key in PEM (PKCS#1 or PKCS#8)")

// keyCache keeps parsed DKIM keys by the SHA-256 of their PEM, so a key is
// parsed once per process, not per message.
type keyCache struct {
	mu   sync.Mutex
	keys map[[32]byte]crypto.Signer
}

func (c *keyCache) get(pemText string) (crypto.Signer, error) {
	sum := sha256.Sum256([]byte(pemText))
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[sum]; ok {
		return k, nil
	}
	k, err := parseDKIMKey([]byte(pemText))
	if err != nil {
		return nil, err
	}
	if c.keys == nil {
		c.keys = make(map[[32]byte]crypto.Signer)
	}
	if len(c.keys) > 1000 { // practices rotate keys; keep the cache bounded
		clear(c.keys)
	}
	c.keys[sum] = k
	return k, nil
}

// parseDKIMKey reads an RSA or Ed25519 private key from PEM: PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY").
func parseDKIMKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(bytes.TrimSpace(pemBytes))
	if block == nil {
		return nil, errDKIMKey
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, errDKIMKey
	}
	if err != nil {
		return nil, errDKIMKey
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 { // RFC 8301: verifiers must refuse smaller keys
			return nil, errDKIMKey
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, errDKIMKey
}

// signDKIM returns msg with a DKIM-Signature (relaxed/relaxed, SHA-256)
// covering headerKeys.
func signDKIM(msg []byte, domain, selector string, key crypto.Signer, headerKeys []string) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(msg) + 600)
	err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
		Domain:                 domain,
		Selector:               selector,
		Signer:                 key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             headerKeys,
	})
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
