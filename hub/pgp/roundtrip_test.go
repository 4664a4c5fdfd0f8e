package pgp_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/karerehub/karere/hub/pgp"
)

func TestEncryptInspectDecrypt(t *testing.T) {
	ps := testParties(t)
	plaintext := []byte("Kia ora Aroha, your blood test results are normal. Ngā mihi, Dr Tane")

	msg, err := pgp.Encrypt(plaintext, []*pgp.PublicKey{ps.patient.pub, ps.team.pub}, ps.staff.priv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Fatalf("Encrypt did not armor: %.40q", msg)
	}

	env, err := inspect(msg)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if !env.Armored || env.Size != len(env.Binary) || len(env.Recipients) != 2 {
		t.Fatalf("envelope = armored %v, size %d/%d, recipients %X", env.Armored, env.Size, len(env.Binary), env.Recipients)
	}
	if err := pgp.CheckRecipients(env, required(ps), ps.staff.pub); err != nil {
		t.Fatalf("CheckRecipients: %v", err)
	}
	if err := pgp.CheckRecipients(env, required(ps)); err != nil {
		t.Fatalf("CheckRecipients without extras: %v", err)
	}

	// The stored binary, armored again, is the same message.
	again, err := inspect(pgp.Armor(env.Binary))
	if err != nil || !bytes.Equal(again.Binary, env.Binary) {
		t.Fatalf("Armor round trip: %v", err)
	}

	for _, reader := range []*party{ps.patient, ps.team} {
		t.Run(reader.name, func(t *testing.T) {
			pt, err := pgp.Decrypt(msg, openpgp.EntityList{reader.priv}, pgp.Keyring(ps.staff.pub, ps.patient.pub))
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(pt.Data, plaintext) {
				t.Fatalf("plaintext = %q", pt.Data)
			}
			if pt.Signature != pgp.SignatureGood || pt.SignerFingerprint != ps.staff.pub.Fingerprint {
				t.Fatalf("signature = %v by %s (%v), want good by %s", pt.Signature, pt.SignerFingerprint, pt.SignatureError, ps.staff.pub.Fingerprint)
			}
			if pt.SignedAt.IsZero() || !reader.pub.HasEncryptionKey(pt.DecryptedWith) {
				t.Fatalf("SignedAt %v, DecryptedWith %X", pt.SignedAt, pt.DecryptedWith)
			}
			// The binary form decrypts the same way.
			pt2, err := pgp.Decrypt(env.Binary, openpgp.EntityList{reader.priv}, pgp.Keyring(ps.staff.pub))
			if err != nil || !bytes.Equal(pt2.Data, plaintext) || pt2.Signature != pgp.SignatureGood {
				t.Fatalf("binary Decrypt: %v", err)
			}
		})
	}

	t.Run("unknown signer", func(t *testing.T) {
		pt, err := pgp.Decrypt(msg, openpgp.EntityList{ps.patient.priv}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pt.Signature != pgp.SignatureUnknownSigner || pt.SignerKeyID != ps.staff.pub.KeyID {
			t.Fatalf("signature = %v by %X, want unknown_signer by %X", pt.Signature, pt.SignerKeyID, ps.staff.pub.KeyID)
		}
	})
	t.Run("not for this key", func(t *testing.T) {
		_, err := pgp.Decrypt(msg, openpgp.EntityList{ps.outsider.priv}, nil)
		wantErr(t, err, pgp.ErrNoDecryptionKey, "no_decryption_key")
	})
	t.Run("locked key", func(t *testing.T) {
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(ps.patient.privArmored))
		if err != nil {
			t.Fatal(err)
		}
		_, err = pgp.Decrypt(msg, el, nil)
		wantErr(t, err, pgp.ErrKeyLocked, "key_locked")
	})
}

func TestDecryptTampered(t *testing.T) {
	ps := testParties(t)
	msg, err := pgp.Encrypt(bytes.Repeat([]byte("secret "), 100), []*pgp.PublicKey{ps.patient.pub, ps.team.pub}, ps.staff.priv)
	if err != nil {
		t.Fatal(err)
	}
	bin := dearmor(t, msg)
	// Find the encrypted data packet: it follows the two session key packets.
	seipd := seipdOffset(t, bin)
	for _, off := range []int{seipd + 8, seipd + 20, seipd + 40, (seipd + len(bin)) / 2, len(bin) - 30, len(bin) - 10, len(bin) - 1} {
		bad := bytes.Clone(bin)
		bad[off] ^= 0x01
		pt, err := pgp.Decrypt(bad, openpgp.EntityList{ps.patient.priv}, pgp.Keyring(ps.staff.pub))
		if err == nil {
			t.Fatalf("flipping a bit at %d/%d: decrypted %q (signature %v)", off, len(bin), pt.Data, pt.Signature)
		}
		// One generic error, whatever broke.
		wantErr(t, err, pgp.ErrDecrypt, "decryption_failed")
	}
	// A damaged session key packet (the team's, which comes last) gives the
	// same generic error.
	bad := bytes.Clone(bin)
	bad[seipd-5] ^= 0x40
	_, err = pgp.Decrypt(bad, openpgp.EntityList{ps.team.priv}, nil)
	wantErr(t, err, pgp.ErrDecrypt, "decryption_failed")
	// The patient's session key packet is intact.
	if _, err := pgp.Decrypt(bad, openpgp.EntityList{ps.patient.priv}, nil); err != nil {
		t.Fatalf("patient's copy: %v", err)
	}
}

// seipdOffset returns the offset of the first SEIPD packet in a message made
// by go-crypto (new-format headers).
func seipdOffset(t testing.TB, bin []byte) int {
	t.Helper()
	for off := 0; off < len(bin); {
		if bin[off]&0x3f == 18 {
			return off
		}
		// PKESKs have a one- or two-octet length.
		l := int(bin[off+1])
		switch {
		case l < 192:
			off += 2 + l
		case l < 224:
			off += 3 + (l-192)<<8 + int(bin[off+2]) + 192
		default:
			t.Fatalf("unexpected length octet %d", l)
		}
	}
	t.Fatal("no SEIPD packet")
	return 0
}

func TestSeal(t *testing.T) {
	ps := testParties(t)
	reply := []byte("Y thanks, see you Tuesday 🙂")
	bin, err := pgp.Seal(reply, ps.patient.pub, ps.team.pub)
	if err != nil {
		t.Fatal(err)
	}
	env, err := inspect(bin)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if env.Armored {
		t.Fatal("Seal output should be binary")
	}
	if err := pgp.CheckRecipients(env, required(ps)); err != nil {
		t.Fatalf("CheckRecipients: %v", err)
	}
	for _, reader := range []*party{ps.patient, ps.team} {
		pt, err := pgp.Decrypt(bin, openpgp.EntityList{reader.priv}, pgp.Keyring(ps.staff.pub))
		if err != nil {
			t.Fatalf("%s: Decrypt: %v", reader.name, err)
		}
		if !bytes.Equal(pt.Data, reply) || pt.Signature != pgp.Unsigned {
			t.Fatalf("%s: got %q, signature %v", reader.name, pt.Data, pt.Signature)
		}
	}
	if _, err := pgp.Seal(reply); err == nil {
		t.Fatal("Seal with no recipients succeeded")
	}
}

func TestSealToEveryEncryptionSubkey(t *testing.T) {
	ps := testParties(t)
	// A key with two valid encryption subkeys: Seal must reach both, and
	// CheckRecipients is satisfied by either.
	now := time.Now()
	e, err := openpgp.NewEntity("Two Subkeys", "", "two@example.nz", pgp.Config(now.Add(-time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddEncryptionSubkey(pgp.Config(now.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	two := mustParse(t, serializePublic(t, e), now)
	if len(two.EncryptionKeyIDs) != 2 {
		t.Fatalf("EncryptionKeyIDs = %X, want two", two.EncryptionKeyIDs)
	}
	bin, err := pgp.Seal([]byte("hello"), two, ps.team.pub)
	if err != nil {
		t.Fatal(err)
	}
	env, err := inspect(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Recipients) != 3 {
		t.Fatalf("recipients = %X, want 3", env.Recipients)
	}
	if err := pgp.CheckRecipients(env, []pgp.Recipient{{Role: pgp.RolePatient, Key: two}, {Role: pgp.RoleTeam, Key: ps.team.pub}}); err != nil {
		t.Fatal(err)
	}
	// go-crypto's Encrypt picks the newest subkey only; that also passes.
	msg, err := pgp.Encrypt([]byte("hello"), []*pgp.PublicKey{two, ps.team.pub}, ps.staff.priv)
	if err != nil {
		t.Fatal(err)
	}
	env, err = inspect(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Recipients) != 2 || env.Recipients[0] != two.EncryptionKeyIDs[1] {
		t.Fatalf("Encrypt recipients = %X, want newest subkey %X first", env.Recipients, two.EncryptionKeyIDs[1])
	}
	if err := pgp.CheckRecipients(env, []pgp.Recipient{{Role: pgp.RolePatient, Key: two}, {Role: pgp.RoleTeam, Key: ps.team.pub}}); err != nil {
		t.Fatal(err)
	}
	// The newest subkey decrypts.
	pt, err := pgp.Decrypt(msg, openpgp.EntityList{e}, pgp.Keyring(ps.staff.pub))
	if err != nil || string(pt.Data) != "hello" {
		t.Fatalf("Decrypt: %v", err)
	}
}

func TestSignatureFromRevokedKeyIsBad(t *testing.T) {
	ps := testParties(t)
	signer, err := newParty("Former Staff", "former@kowhai.example.nz", "former")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := pgp.Encrypt([]byte("hello"), []*pgp.PublicKey{ps.patient.pub, ps.team.pub}, signer.priv)
	if err != nil {
		t.Fatal(err)
	}
	// The signer's key is revoked after the fact (compromised): the
	// signature no longer counts.
	revoked, err := pgp.ReadPrivateKey(signer.privArmored, signer.passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if err := revoked.RevokeKey(packet.KeyCompromised, "laptop stolen", pgp.Config(time.Time{})); err != nil {
		t.Fatal(err)
	}
	pt, err := pgp.Decrypt(msg, openpgp.EntityList{ps.patient.priv}, openpgp.EntityList{revoked})
	if err != nil {
		t.Fatal(err)
	}
	if pt.Signature != pgp.SignatureBad || pt.SignatureError == nil || string(pt.Data) != "hello" {
		t.Fatalf("signature = %v (%v), want bad", pt.Signature, pt.SignatureError)
	}
	if pt.Signature.String() != "bad" {
		t.Fatalf("String() = %q", pt.Signature.String())
	}
}

func TestEncryptArguments(t *testing.T) {
	ps := testParties(t)
	to := []*pgp.PublicKey{ps.patient.pub}
	if _, err := pgp.Encrypt([]byte("x"), to, nil); err == nil {
		t.Fatal("Encrypt without signer succeeded")
	}
	if _, err := pgp.Encrypt([]byte("x"), nil, ps.staff.priv); err == nil {
		t.Fatal("Encrypt without recipients succeeded")
	}
	locked, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(ps.staff.privArmored))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pgp.Encrypt([]byte("x"), to, locked[0])
	wantErr(t, err, pgp.ErrKeyLocked, "key_locked")
	if _, err := pgp.Encrypt([]byte("x"), to, ps.staff.pub.Entity); !errors.Is(err, pgp.ErrNotPrivateKey) {
		t.Fatalf("Encrypt with a public key as signer: %v", err)
	}
}
