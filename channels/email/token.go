package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strings"

	"github.com/oklog/ulid/v2"
)

// Token kinds. A token names one record; its kind says which and what the
// address it sits in may be used for, so a token made for one purpose is
// refused for another.
const (
	KindThread   byte = 't' // Reply-To of a message in a secure-message thread
	KindDelivery byte = 'd' // Reply-To of a notice outside a thread
	KindBounce   byte = 'b' // envelope sender (VERP): the delivery a bounce is about
	// KindUnsubscribe is the one-click unsubscribe URL of a delivery, as
	// issued before links were bound to their address: still honoured
	// (see UnsubscribeHandler), no longer issued.
	KindUnsubscribe byte = 'u'
	// KindUnsubscribeTo is the one-click unsubscribe URL of a delivery,
	// bound to the address it was sent to (UnsubscribeToken).
	KindUnsubscribeTo byte = 'v'
)

// ErrBadToken is returned for a token that is malformed or whose MAC does
// not verify.
var ErrBadToken = errors.New("email: token not recognised")

// tokenMACLen is the truncated HMAC-SHA256 length: 80 bits, far beyond
// guessing over SMTP, and short enough that bounce+TOKEN stays within the
// 64-octet local part of RFC 5321 for hub ids.
const tokenMACLen = 10

// tokenContext separates these MACs from any other use of the secret.
const tokenContext = "karere/email-token/v1\x00"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ReplyToken returns an unguessable token naming id, for use in the local
// part of an address (lowercase base32: letters and 2-7, no '+') or in a
// URL. kind is one of the Kind constants. Verifying it needs only secret:
// see ParseReplyToken.
//
// Hub ids (a three-letter prefix, '_' and a ULID) are packed into 19 bytes,
// so a token is 48 characters; other ids are carried as they are.
func ReplyToken(secret []byte, kind byte, id string) string {
	payload := packID(kind, id)
	mac := tokenMAC(secret, payload)
	return strings.ToLower(tokenEncoding.EncodeToString(append(payload, mac...)))
}

// ParseReplyToken verifies token with secret (in constant time) and returns
// the kind and id it names. Any failure is ErrBadToken.
func ParseReplyToken(secret []byte, token string) (kind byte, id string, err error) {
	if len(secret) == 0 || len(token) == 0 || len(token) > 256 {
		return 0, "", ErrBadToken
	}
	raw, err := tokenEncoding.DecodeString(strings.ToUpper(token))
	if err != nil || len(raw) < 2+tokenMACLen {
		return 0, "", ErrBadToken
	}
	payload, mac := raw[:len(raw)-tokenMACLen], raw[len(raw)-tokenMACLen:]
	if !hmac.Equal(mac, tokenMAC(secret, payload)) {
		return 0, "", ErrBadToken
	}
	kind, id, ok := unpackID(payload)
	if !ok {
		return 0, "", ErrBadToken
	}
	return kind, id, nil
}

// addressTagLen is the length of an unsubscribe token's address tag: 64
// bits of HMAC, so that nobody can find another address with the same tag.
const addressTagLen = 8

// UnsubscribeToken returns the token of delivery id's one-click
// unsubscribe URL, bound to the address the delivery was sent to: it
// carries an HMAC tag of the address (not the address), so that an old
// link opts out only that address, never the one the patient has since.
func UnsubscribeToken(secret []byte, id, address string) string {
	payload := append(packID(KindUnsubscribeTo, id), addressTag(secret, address)...)
	return strings.ToLower(tokenEncoding.EncodeToString(append(payload, tokenMAC(secret, payload)...)))
}

// ParseUnsubscribeToken verifies an unsubscribe token and returns the
// delivery id and, for a token bound to its address, a function telling
// whether an address is that one (in constant time); sentTo is nil for a
// token of the old, unbound form. Any failure is ErrBadToken.
func ParseUnsubscribeToken(secret []byte, token string) (id string, sentTo func(address string) bool, err error) {
	if len(secret) == 0 || len(token) == 0 || len(token) > 256 {
		return "", nil, ErrBadToken
	}
	raw, err := tokenEncoding.DecodeString(strings.ToUpper(token))
	if err != nil || len(raw) < 2+tokenMACLen {
		return "", nil, ErrBadToken
	}
	payload, mac := raw[:len(raw)-tokenMACLen], raw[len(raw)-tokenMACLen:]
	if !hmac.Equal(mac, tokenMAC(secret, payload)) {
		return "", nil, ErrBadToken
	}
	if lower(payload[0]) == KindUnsubscribe {
		kind, id, ok := unpackID(payload)
		if !ok || kind != KindUnsubscribe {
			return "", nil, ErrBadToken
		}
		return id, nil, nil
	}
	if lower(payload[0]) != KindUnsubscribeTo || len(payload) < 2+addressTagLen {
		return "", nil, ErrBadToken
	}
	tag := payload[len(payload)-addressTagLen:]
	kind, id, ok := unpackID(payload[:len(payload)-addressTagLen])
	if !ok || kind != KindUnsubscribeTo {
		return "", nil, ErrBadToken
	}
	return id, func(address string) bool { return hmac.Equal(tag, addressTag(secret, address)) }, nil
}

// addressTag is the truncated HMAC of an address, compared without
// regard to case or surrounding space.
func addressTag(secret []byte, address string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("karere/unsubscribe-address/v1\x00"))
	h.Write([]byte(strings.ToLower(strings.TrimSpace(address))))
	return h.Sum(nil)[:addressTagLen]
}

func tokenMAC(secret, payload []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(tokenContext))
	h.Write(payload)
	return h.Sum(nil)[:tokenMACLen]
}

// packID encodes kind and id. The first byte is the kind, lowercase for an
// id carried as it is, uppercase for a packed hub id: three prefix bytes
// and the 16 bytes of the ULID.
func packID(kind byte, id string) []byte {
	kind = lower(kind)
	if len(id) == 4+ulid.EncodedSize && id[3] == '_' && isLowerAlpha(id[:3]) {
		if u, err := ulid.ParseStrict(id[4:]); err == nil && strings.ToLower(u.String()) == id[4:] {
			b := make([]byte, 0, 1+3+16)
			b = append(b, kind-'a'+'A')
			b = append(b, id[:3]...)
			return append(b, u[:]...)
		}
	}
	return append([]byte{kind}, id...)
}

func unpackID(p []byte) (kind byte, id string, ok bool) {
	k := p[0]
	switch {
	case k >= 'a' && k <= 'z':
		return k, string(p[1:]), true
	case k >= 'A' && k <= 'Z':
		if len(p) != 1+3+16 || !isLowerAlpha(string(p[1:4])) {
			return 0, "", false
		}
		var u ulid.ULID
		copy(u[:], p[4:])
		return lower(k), string(p[1:4]) + "_" + strings.ToLower(u.String()), true
	}
	return 0, "", false
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b - 'A' + 'a'
	}
	return b
}

func isLowerAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return s != ""
}
