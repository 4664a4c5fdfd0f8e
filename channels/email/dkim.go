package email

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"sync"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/karerehub/karere/hub/settings"
)

// ReasonDKIMKey is the permanent reason for a practice DKIM key that cannot
// be used: sending unsigned instead would fail the domain's DMARC policy.
const ReasonDKIMKey = "dkim_key_invalid"

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
	k, err := settings.ParseDKIMKey(pemText)
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
