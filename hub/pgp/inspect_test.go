package pgp_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/karerehub/karere/hub/pgp"
)

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// literalMessage is a bare literal data packet: plaintext.
func literalMessage(t testing.TB, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := packet.SerializeLiteral(nopCloser{&buf}, false, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, text)
	w.Close()
	return buf.Bytes()
}

// compressedMessage is a compressed packet holding a literal packet.
func compressedMessage(t testing.TB, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	cw, err := packet.SerializeCompressed(nopCloser{&buf}, packet.CompressionZLIB, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := packet.SerializeLiteral(cw, false, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, text)
	w.Close()
	return buf.Bytes()
}

func symmetricMessage(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := openpgp.SymmetricallyEncrypt(&buf, []byte("shared secret"), nil, pgp.Config(keyTime))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "hello")
	w.Close()
	return buf.Bytes()
}

func signedMessage(t testing.TB, signer *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := openpgp.Sign(&buf, signer, nil, pgp.Config(keyTime))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "signed but not encrypted")
	w.Close()
	return buf.Bytes()
}

func clearsigned(t testing.TB, signer *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, signer.PrivateKey, pgp.Config(keyTime))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "hello")
	w.Close()
	return buf.Bytes()
}

// anonymousMessage is encrypted to the patient with a wildcard key id.
func anonymousMessage(t testing.TB, to *pgp.PublicKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	key := make([]byte, 32)
	rand.Read(key)
	sub := to.Entity.Subkeys[0].PublicKey
	if err := packet.SerializeEncryptedKeyAEADwithHiddenOption(&buf, sub, packet.CipherAES256, false, key, true, nil); err != nil {
		t.Fatal(err)
	}
	w, err := packet.SerializeSymmetricallyEncrypted(&buf, packet.CipherAES256, false, packet.CipherSuite{}, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	lw, _ := packet.SerializeLiteral(w, true, "", 0)
	io.WriteString(lw, "hello")
	lw.Close()
	return buf.Bytes()
}

// packetBytes builds one new-format packet with a definite length.
func packetBytes(tag byte, body []byte) []byte {
	out := []byte{0xc0 | tag}
	switch n := len(body); {
	case n < 192:
		out = append(out, byte(n))
	case n < 8384:
		n -= 192
		out = append(out, byte(n>>8)+192, byte(n))
	default:
		out = append(out, 255, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, body...)
}

func TestInspectAccepts(t *testing.T) {
	ps := testParties(t)
	sealed, err := pgp.Seal([]byte("hello"), ps.patient.pub, ps.team.pub)
	if err != nil {
		t.Fatal(err)
	}
	marker := packetBytes(10, []byte("PGP"))
	padding := packetBytes(21, make([]byte, 32))
	tests := []struct {
		name string
		msg  []byte
	}{
		{"binary", sealed},
		{"armored", pgp.Armor(sealed)},
		{"armored with CRLF and blank lines around", []byte("\r\n\r\n" + strings.ReplaceAll(string(pgp.Armor(sealed)), "\n", "\r\n") + "\r\n")},
		{"marker first", append(bytes.Clone(marker), sealed...)},
		{"padding before and after", append(append(bytes.Clone(padding), sealed...), padding...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := inspect(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := pgp.CheckRecipients(env, required(ps)); err != nil {
				t.Fatal(err)
			}
			if _, err := pgp.Decrypt(tt.msg, openpgp.EntityList{ps.patient.priv}, nil); err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
		})
	}
}

func TestInspectRefuses(t *testing.T) {
	ps := testParties(t)
	sealed, err := pgp.Seal([]byte("hello"), ps.patient.pub, ps.team.pub)
	if err != nil {
		t.Fatal(err)
	}
	seipd := seipdOffset(t, sealed)
	sed := append(bytes.Clone(sealed[:seipd]), packetBytes(9, make([]byte, 64))...)
	armored := string(pgp.Armor(sealed))

	tests := []struct {
		name string
		msg  []byte
		want error
		code string
	}{
		{"empty", nil, pgp.ErrNotOpenPGP, "not_openpgp"},
		{"text", []byte("Hi, can I get a repeat prescription?"), pgp.ErrNotOpenPGP, "not_openpgp"},
		{"literal packet", literalMessage(t, "plain text"), pgp.ErrPlaintext, "plaintext_refused"},
		{"armored literal packet", pgp.Armor(literalMessage(t, "plain text")), pgp.ErrPlaintext, "plaintext_refused"},
		{"signed, not encrypted", signedMessage(t, ps.staff.priv), pgp.ErrPlaintext, "plaintext_refused"},
		{"cleartext signed", clearsigned(t, ps.staff.priv), pgp.ErrPlaintext, "plaintext_refused"},
		{"compressed top level", compressedMessage(t, strings.Repeat("A", 10000)), pgp.ErrCompressed, "compressed_refused"},
		{"symmetric only", symmetricMessage(t), pgp.ErrSymmetric, "symmetric_refused"},
		{"session key and passphrase", append(bytes.Clone(sealed[:seipd]), symmetricMessage(t)...), pgp.ErrSymmetric, "symmetric_refused"},
		{"SED without MDC", sed, pgp.ErrNoIntegrity, "integrity_protection_missing"},
		{"no session key packet", sealed[seipd:], pgp.ErrNoRecipient, "no_recipient"},
		{"anonymous recipient", anonymousMessage(t, ps.patient.pub), pgp.ErrAnonymousRecipient, "anonymous_recipient"},
		{"trailing bytes", append(bytes.Clone(sealed), 0, 1, 2), pgp.ErrTrailingData, "trailing_data"},
		{"second message", append(bytes.Clone(sealed), sealed...), pgp.ErrTrailingData, "trailing_data"},
		{"literal after", append(bytes.Clone(sealed), literalMessage(t, "x")...), pgp.ErrTrailingData, "trailing_data"},
		{"text after armor", []byte(armored + "\nsent from my phone\n"), pgp.ErrTrailingData, "trailing_data"},
		{"two armored blocks", []byte(armored + armored), pgp.ErrTrailingData, "trailing_data"},
		{"armor cut", []byte(armored[:len(armored)/2]), pgp.ErrTruncated, "truncated_message"},
		{"armored key", ps.patient.pubArmored, pgp.ErrNotOpenPGP, "not_openpgp"},
		{"binary key", dearmorKey(t, ps.patient.pubArmored), pgp.ErrNotOpenPGP, "not_openpgp"},
		{"bad base64", []byte("-----BEGIN PGP MESSAGE-----\n\n!!!!\n-----END PGP MESSAGE-----\n"), pgp.ErrNotOpenPGP, "not_openpgp"},
		{"unknown packet", append(packetBytes(60, []byte("x")), sealed...), pgp.ErrMalformed, "malformed_message"},
		{"bad SEIPD version", append(bytes.Clone(sealed[:seipd]), packetBytes(18, append([]byte{7}, make([]byte, 60)...))...), pgp.ErrMalformed, "malformed_message"},
		{"short SEIPD", append(bytes.Clone(sealed[:seipd]), packetBytes(18, []byte{1, 2, 3})...), pgp.ErrTruncated, "truncated_message"},
		{"bad PKESK version", append(packetBytes(1, []byte{9, 1, 2, 3, 4, 5, 6, 7, 8, 18}), sealed[seipd:]...), pgp.ErrMalformed, "malformed_message"},
		{"partial length on PKESK", append([]byte{0xca, 0x03, 'P', 'G', 'P', 0xc1, 0xe1}, sealed...), pgp.ErrMalformed, "malformed_message"},
		{"partial length on first packet", append([]byte{0xc1, 0xe1}, sealed...), pgp.ErrNotOpenPGP, "not_openpgp"},
		{"garbage first byte", append([]byte{0x7f}, sealed...), pgp.ErrNotOpenPGP, "not_openpgp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := inspect(tt.msg)
			if err == nil {
				t.Fatalf("accepted, recipients %X", env.Recipients)
			}
			wantErr(t, err, tt.want, tt.code)
		})
	}
}

func TestInspectTruncated(t *testing.T) {
	ps := testParties(t)
	signed, err := pgp.Encrypt(bytes.Repeat([]byte("long message "), 2000), []*pgp.PublicKey{ps.patient.pub, ps.team.pub}, ps.staff.priv)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := pgp.Seal(bytes.Repeat([]byte("x"), 3000), ps.patient.pub, ps.team.pub)
	if err != nil {
		t.Fatal(err)
	}
	for name, msg := range map[string][]byte{"encrypted": dearmor(t, signed), "sealed": sealed} {
		t.Run(name, func(t *testing.T) {
			// Every cut, through headers, lengths, partial chunks and bodies.
			for cut := 1; cut < len(msg); cut++ {
				_, err := inspect(msg[:cut])
				if !errors.Is(err, pgp.ErrTruncated) {
					t.Fatalf("cut at %d of %d: error %v, want truncated", cut, len(msg), err)
				}
			}
		})
	}
}

func TestInspectSize(t *testing.T) {
	ps := testParties(t)
	const limit = 1 << 20
	big := make([]byte, 10<<20)
	big[0] = 0x84 // looks like a binary packet
	_, err := pgp.Inspect(bytes.NewReader(big), limit)
	wantErr(t, err, pgp.ErrTooLarge, "message_too_large")

	// 10 MiB of armor, and a real message just over the limit.
	_, err = pgp.Inspect(strings.NewReader("-----BEGIN PGP MESSAGE-----\n\n"+strings.Repeat("AAAA", 10<<18)), limit)
	wantErr(t, err, pgp.ErrTooLarge, "message_too_large")
	sealed, err := pgp.Seal(make([]byte, limit), ps.patient.pub, ps.team.pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range [][]byte{sealed, pgp.Armor(sealed)} {
		_, err = pgp.Inspect(bytes.NewReader(msg), limit)
		wantErr(t, err, pgp.ErrTooLarge, "message_too_large")
		if _, err := pgp.Inspect(bytes.NewReader(msg), int64(len(sealed))); err != nil {
			t.Fatalf("exactly at the limit: %v", err)
		}
	}

	// Inspect stops reading at the limit.
	r := &countingReader{r: bytes.NewReader(big)}
	pgp.Inspect(r, limit)
	if r.n > limit+4096 {
		t.Fatalf("read %d bytes for a %d limit", r.n, limit)
	}
	if _, err := pgp.Inspect(bytes.NewReader(sealed), 1<<62); err != nil {
		t.Fatalf("huge limit: %v", err)
	}
	if _, err := pgp.Inspect(bytes.NewReader(sealed), 0); err == nil {
		t.Fatal("zero limit accepted")
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestInspectGarbage(t *testing.T) {
	// Random input never panics and is never accepted.
	buf := make([]byte, 4096)
	for i := 0; i < 2000; i++ {
		n := 1 + i%len(buf)
		rand.Read(buf[:n])
		if env, err := inspect(buf[:n]); err == nil {
			t.Fatalf("random bytes accepted: recipients %X", env.Recipients)
		} else if pgp.Code(err) == "" {
			t.Fatalf("error without a code: %v", err)
		}
	}
}

func TestCheckRecipients(t *testing.T) {
	ps := testParties(t)
	enc := func(to ...*pgp.PublicKey) *pgp.Envelope {
		t.Helper()
		msg, err := pgp.Encrypt([]byte("hello"), to, ps.staff.priv)
		if err != nil {
			t.Fatal(err)
		}
		env, err := inspect(msg)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}

	t.Run("missing team", func(t *testing.T) {
		err := pgp.CheckRecipients(enc(ps.patient.pub, ps.staff.pub), required(ps), ps.staff.pub)
		wantErr(t, err, pgp.ErrMissingRecipient, "missing_team_recipient")
		var m *pgp.MissingRecipientError
		if !errors.As(err, &m) || m.Role != pgp.RoleTeam || m.Fingerprint != ps.team.pub.Fingerprint {
			t.Fatalf("error = %#v", err)
		}
		if err.Error() != "pgp: message is not encrypted to the team key" {
			t.Fatalf("message = %q", err.Error())
		}
	})
	t.Run("missing patient", func(t *testing.T) {
		err := pgp.CheckRecipients(enc(ps.team.pub), required(ps))
		wantErr(t, err, pgp.ErrMissingRecipient, "missing_patient_recipient")
	})
	t.Run("missing other role", func(t *testing.T) {
		err := pgp.CheckRecipients(enc(ps.team.pub), []pgp.Recipient{{Role: "auditor", Key: ps.outsider.pub}})
		wantErr(t, err, pgp.ErrMissingRecipient, "missing_recipient")
	})
	t.Run("unknown extra recipient", func(t *testing.T) {
		env := enc(ps.patient.pub, ps.team.pub, ps.outsider.pub)
		err := pgp.CheckRecipients(env, required(ps), ps.staff.pub)
		wantErr(t, err, pgp.ErrUnknownRecipient, "unknown_recipient")
		var u *pgp.UnknownRecipientError
		if !errors.As(err, &u) || !ps.outsider.pub.HasEncryptionKey(u.KeyID) {
			t.Fatalf("error = %v", err)
		}
		// Allowed, it passes.
		if err := pgp.CheckRecipients(env, required(ps), ps.staff.pub, ps.outsider.pub); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("staff copy allowed", func(t *testing.T) {
		env := enc(ps.patient.pub, ps.team.pub, ps.staff.pub)
		if err := pgp.CheckRecipients(env, required(ps), ps.staff.pub); err != nil {
			t.Fatal(err)
		}
		wantErr(t, pgp.CheckRecipients(env, required(ps)), pgp.ErrUnknownRecipient, "unknown_recipient")
	})
	t.Run("nil key", func(t *testing.T) {
		err := pgp.CheckRecipients(enc(ps.team.pub), []pgp.Recipient{{Role: pgp.RoleTeam}})
		if err == nil || pgp.Code(err) != "" {
			t.Fatalf("error = %v, code %q", err, pgp.Code(err))
		}
	})
}

func TestCode(t *testing.T) {
	if pgp.Code(nil) != "" || pgp.Code(errors.New("other")) != "" || pgp.Code(io.EOF) != "" {
		t.Fatal("Code of a foreign error is not empty")
	}
	wrapped := errors.Join(errors.New("context"), pgp.ErrKeyRevoked)
	if pgp.Code(wrapped) != "key_revoked" {
		t.Fatalf("Code(wrapped) = %q", pgp.Code(wrapped))
	}
}
