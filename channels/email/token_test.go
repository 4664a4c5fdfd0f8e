package email

import (
	"fmt"
	"strings"
	"testing"

	"github.com/karerehub/karere/hub"
)

func TestReplyTokenRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		kind byte
		id   string
	}{
		{"thread", KindThread, hub.NewID(hub.PrefixThread)},
		{"delivery", KindDelivery, hub.NewID(hub.PrefixDelivery)},
		{"bounce", KindBounce, hub.NewID(hub.PrefixDelivery)},
		{"unsubscribe", KindUnsubscribe, hub.NewID(hub.PrefixDelivery)},
		{"id that is not a hub id", KindDelivery, "legacy-42"},
		{"uppercase ULID is carried as is", KindThread, "thr_01JD0000000000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := ReplyToken(testSecret, tt.kind, tt.id)
			if tok != strings.ToLower(tok) || strings.ContainsAny(tok, "+=@._-") {
				t.Errorf("token %q is not lowercase base32", tok)
			}
			kind, id, err := ParseReplyToken(testSecret, tok)
			if err != nil || kind != tt.kind || id != tt.id {
				t.Errorf("ParseReplyToken = %c %q %v, want %c %q", kind, id, err, tt.kind, tt.id)
			}
			// Some MTAs change the case of local parts.
			if _, id, err := ParseReplyToken(testSecret, strings.ToUpper(tok)); err != nil || id != tt.id {
				t.Errorf("uppercased token: %q %v", id, err)
			}
		})
	}
}

func TestReplyTokenFitsLocalPart(t *testing.T) {
	tok := ReplyToken(testSecret, KindBounce, hub.NewID(hub.PrefixDelivery))
	if n := len("bounce+" + tok); n > 64 {
		t.Errorf("bounce local part is %d octets, RFC 5321 allows 64", n)
	}
}

func TestReplyTokenTamperRefused(t *testing.T) {
	id := hub.NewID(hub.PrefixThread)
	tok := ReplyToken(testSecret, KindThread, id)
	// Every single-character change is refused: in the id, the kind and
	// each byte of the MAC (first and last alike: hmac.Equal compares in
	// constant time).
	for i := range tok {
		for _, c := range "a7" {
			if rune(tok[i]) == c {
				continue
			}
			forged := tok[:i] + string(c) + tok[i+1:]
			if _, _, err := ParseReplyToken(testSecret, forged); err == nil {
				k, fid, _ := ParseReplyToken(testSecret, forged)
				// Base32's last character may carry unused bits.
				if fid != id || k != KindThread {
					t.Fatalf("forged token %q accepted as %c %q", forged, k, fid)
				}
			}
		}
	}
	other := []byte("another secret, also 32 bytes...")
	for name, tok := range map[string]string{
		"other secret":  ReplyToken(other, KindThread, id),
		"truncated":     tok[:len(tok)-2],
		"extended":      tok + "aa",
		"empty":         "",
		"not base32":    "reply-me-please",
		"only a mac":    strings.Repeat("a", 16),
		"huge":          strings.Repeat("a", 1000),
		"with a plus":   "abc+def",
		"padding chars": tok + "====",
	} {
		if _, _, err := ParseReplyToken(testSecret, tok); err != ErrBadToken {
			t.Errorf("%s: err = %v, want ErrBadToken", name, err)
		}
	}
	if _, _, err := ParseReplyToken(nil, ReplyToken(nil, KindThread, id)); err != ErrBadToken {
		t.Errorf("empty secret accepted")
	}
}

func ExampleReplyToken() {
	secret := []byte("0123456789abcdef0123456789abcdef")
	token := ReplyToken(secret, KindThread, "thr_01jd8x7v2q0000000000000000")
	kind, id, err := ParseReplyToken(secret, token)
	fmt.Printf("reply+%s@reply.example.nz\n%c %s %v\n", token, kind, id, err)
	// Output:
	// reply+kr2gq4qbsni5h3cxaaaaaaaaaaaaaaaa33ecuoim5n6dofpn@reply.example.nz
	// t thr_01jd8x7v2q0000000000000000 <nil>
}

// TestUnsubscribeToken: the token names the delivery and is bound to the
// address it was sent to (case and spaces aside); a token of the old form
// still parses, saying nothing of the address; other kinds of token, and
// tampered ones, are refused.
func TestUnsubscribeToken(t *testing.T) {
	id := hub.NewID(hub.PrefixDelivery)
	tok := UnsubscribeToken(testSecret, id, "Hemi@Example.NZ")
	if strings.Contains(strings.ToLower(tok), "hemi") {
		t.Fatalf("token %q carries the address", tok)
	}
	got, sentTo, err := ParseUnsubscribeToken(testSecret, tok)
	if err != nil || got != id || sentTo == nil {
		t.Fatalf("ParseUnsubscribeToken = %q, %v, %v", got, sentTo != nil, err)
	}
	for addr, want := range map[string]bool{"hemi@example.nz": true, " HEMI@example.nz ": true,
		"hemi.new@example.nz": false, "": false, "hemi@example.nz.evil": false} {
		if sentTo(addr) != want {
			t.Errorf("sentTo(%q) = %v, want %v", addr, !want, want)
		}
	}
	if got, sentTo, err := ParseUnsubscribeToken(testSecret, ReplyToken(testSecret, KindUnsubscribe, id)); err != nil || got != id || sentTo != nil {
		t.Errorf("old form: %q, bound %v, %v", got, sentTo != nil, err)
	}
	legacy := UnsubscribeToken(testSecret, "legacy-42", "hemi@example.nz")
	if got, sentTo, err := ParseUnsubscribeToken(testSecret, legacy); err != nil || got != "legacy-42" || !sentTo("hemi@example.nz") {
		t.Errorf("non-hub id: %q %v", got, err)
	}
	bad := []string{
		ReplyToken(testSecret, KindDelivery, id),
		ReplyToken(testSecret, KindBounce, id),
		UnsubscribeToken([]byte("another secret, 32 bytes or more!!"), id, "hemi@example.nz"),
		flipLast(tok),
		"",
	}
	for _, b := range bad {
		if _, _, err := ParseUnsubscribeToken(testSecret, b); err == nil {
			t.Errorf("ParseUnsubscribeToken(%q) accepted", b)
		}
	}
}

// flipLast changes a token's last character.
func flipLast(tok string) string {
	if strings.HasSuffix(tok, "a") {
		return tok[:len(tok)-1] + "b"
	}
	return tok[:len(tok)-1] + "a"
}
