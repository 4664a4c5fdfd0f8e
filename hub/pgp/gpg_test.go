package pgp_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/hub/pgp"
)

// gnupg runs /usr/bin/gpg (GnuPG 2.2 on the CI machine) against a
// throw-away home directory.
type gnupg struct {
	t    *testing.T
	home string
}

func newGnuPG(t *testing.T) *gnupg {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg is required for the interoperability tests (Debian package gnupg): %v", err)
	}
	home := t.TempDir()
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &gnupg{t: t, home: home}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = cmd.Run()
	})
	return g
}

// run runs gpg in batch mode with a loopback passphrase (may be "") and
// returns standard output and the status lines.
func (g *gnupg) run(stdin []byte, passphrase string, args ...string) (out []byte, status string, err error) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--homedir", g.home, "--batch", "--no-tty", "--yes", "--status-fd", "2",
		"--pinentry-mode", "loopback", "--passphrase", passphrase, "--trust-model", "always"}
	cmd := exec.CommandContext(ctx, "gpg", append(base, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.home, "LC_ALL=C")
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.Bytes(), stderr.String(), err
}

// must is run that fails the test on error.
func (g *gnupg) must(stdin []byte, passphrase string, args ...string) []byte {
	g.t.Helper()
	out, status, err := g.run(stdin, passphrase, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, status)
	}
	return out
}

func (g *gnupg) importKey(key []byte, passphrase string) {
	g.t.Helper()
	g.must(key, passphrase, "--import")
}

// genKey makes a key with gpg's own quick-gen-key and returns its
// fingerprint.
func (g *gnupg) genKey(uid, algo, passphrase string) string {
	g.t.Helper()
	g.must(nil, passphrase, "--quick-gen-key", uid, algo, "default", "0")
	out := g.must(nil, "", "--with-colons", "--list-keys", uid)
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9]
		}
	}
	g.t.Fatalf("no fingerprint for %s", uid)
	return ""
}

func TestGnuPGInterop(t *testing.T) {
	ps := testParties(t)
	g := newGnuPG(t)
	for _, p := range []*party{ps.patient, ps.team, ps.staff} {
		g.importKey(p.pubArmored, "")
		g.importKey(p.privArmored, string(p.passphrase))
	}

	t.Run("gpg reads GenerateKey keys", func(t *testing.T) {
		out := string(g.must(nil, "", "--with-colons", "--list-secret-keys", ps.patient.pub.Fingerprint))
		// sec: algorithm 22 (EdDSA) on ed25519; ssb: 18 (ECDH) on cv25519.
		if !strings.Contains(out, ":22:"+ps.patient.pub.KeyIDString()+":") || !strings.Contains(out, ":ed25519:") ||
			!strings.Contains(out, "ssb:") || !strings.Contains(out, ":18:") || !strings.Contains(out, ":cv25519:") {
			t.Fatalf("gpg sees:\n%s", out)
		}
	})

	t.Run("gpg decrypts and verifies Encrypt", func(t *testing.T) {
		plaintext := []byte("Kia ora, your repeat prescription is ready.\n")
		msg, err := pgp.Encrypt(plaintext, []*pgp.PublicKey{ps.patient.pub, ps.team.pub}, ps.staff.priv)
		if err != nil {
			t.Fatal(err)
		}
		for _, reader := range []*party{ps.patient, ps.team} {
			out, status, err := g.run(msg, string(reader.passphrase), "--decrypt")
			if err != nil {
				t.Fatalf("%s: gpg --decrypt: %v\n%s", reader.name, err, status)
			}
			if !bytes.Equal(out, plaintext) {
				t.Fatalf("%s: gpg decrypted %q", reader.name, out)
			}
			for _, want := range []string{"DECRYPTION_OKAY", "GOODSIG " + ps.staff.pub.KeyIDString(), "VALIDSIG ", ps.staff.pub.Fingerprint} {
				if !strings.Contains(status, want) {
					t.Fatalf("%s: gpg status lacks %q:\n%s", reader.name, want, status)
				}
			}
		}
	})

	t.Run("gpg decrypts Seal", func(t *testing.T) {
		sealed, err := pgp.Seal([]byte("Y"), ps.patient.pub, ps.team.pub)
		if err != nil {
			t.Fatal(err)
		}
		out, status, err := g.run(sealed, string(ps.team.passphrase), "--decrypt")
		if err != nil || string(out) != "Y" || !strings.Contains(status, "DECRYPTION_OKAY") {
			t.Fatalf("gpg --decrypt: %v, %q\n%s", err, out, status)
		}
	})

	t.Run("gpg message passes Inspect and Decrypt", func(t *testing.T) {
		plaintext := []byte("Message written with GnuPG 2.2.\n")
		for _, armor := range []bool{true, false} {
			args := []string{"--encrypt", "--sign", "--local-user", ps.staff.pub.Fingerprint,
				"--recipient", ps.patient.pub.Fingerprint, "--recipient", ps.team.pub.Fingerprint}
			if armor {
				args = append(args, "--armor")
			}
			msg := g.must(plaintext, string(ps.staff.passphrase), args...)
			env, err := inspect(msg)
			if err != nil {
				t.Fatalf("armor %v: Inspect: %v", armor, err)
			}
			if err := pgp.CheckRecipients(env, required(ps), ps.staff.pub); err != nil {
				t.Fatalf("armor %v: CheckRecipients: %v", armor, err)
			}
			for _, reader := range []*party{ps.patient, ps.team} {
				pt, err := pgp.Decrypt(msg, openpgp.EntityList{reader.priv}, pgp.Keyring(ps.staff.pub))
				if err != nil {
					t.Fatalf("%s: Decrypt: %v", reader.name, err)
				}
				if !bytes.Equal(pt.Data, plaintext) || pt.Signature != pgp.SignatureGood || pt.SignerFingerprint != ps.staff.pub.Fingerprint {
					t.Fatalf("%s: %q, signature %v by %s (%v)", reader.name, pt.Data, pt.Signature, pt.SignerFingerprint, pt.SignatureError)
				}
			}
		}
		// A message gpg encrypts to the patient only lacks the team.
		msg := g.must(plaintext, string(ps.staff.passphrase), "--encrypt", "--sign", "--local-user", ps.staff.pub.Fingerprint, "--recipient", ps.patient.pub.Fingerprint)
		env, err := inspect(msg)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, pgp.CheckRecipients(env, required(ps)), pgp.ErrMissingRecipient, "missing_team_recipient")
	})

	t.Run("gpg messages Inspect refuses", func(t *testing.T) {
		text := []byte("plain words")
		tests := []struct {
			name string
			args []string
			pass string
			want error
		}{
			{"symmetric", []string{"--symmetric"}, "shared", pgp.ErrSymmetric},
			{"signed only", []string{"--sign", "--local-user", ps.staff.pub.Fingerprint}, string(ps.staff.passphrase), pgp.ErrCompressed},
			{"store", []string{"--store", "--compress-algo", "none"}, "", pgp.ErrPlaintext},
			{"store compressed", []string{"--store", "--compress-algo", "zlib"}, "", pgp.ErrCompressed},
			{"clearsign", []string{"--clearsign", "--local-user", ps.staff.pub.Fingerprint}, string(ps.staff.passphrase), pgp.ErrPlaintext},
			{"hidden recipient", []string{"--encrypt", "--throw-keyids", "--recipient", ps.patient.pub.Fingerprint}, "", pgp.ErrAnonymousRecipient},
		}
		for _, tt := range tests {
			msg := g.must(text, tt.pass, tt.args...)
			if _, err := inspect(msg); !errors.Is(err, tt.want) {
				t.Errorf("%s: Inspect error %v, want %v", tt.name, err, tt.want)
			}
		}
	})

	t.Run("gpg keys", func(t *testing.T) {
		fpr := g.genKey("GnuPG User <gpg-user@example.nz>", "future-default", "gpg pass")
		pub := g.must(nil, "", "--armor", "--export", fpr)
		k, err := pgp.ParsePublicKey(pub, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatalf("ParsePublicKey(gpg ed25519 key): %v", err)
		}
		if k.Fingerprint != fpr || k.Algorithm != "EdDSA Ed25519 + ECDH Curve25519" {
			t.Fatalf("gpg key parsed as %s %q", k.Fingerprint, k.Algorithm)
		}
		priv := g.must(nil, "gpg pass", "--armor", "--export-secret-keys", fpr)
		locked, err := pgp.CheckLockedPrivateKey(priv)
		if err != nil {
			t.Fatalf("CheckLockedPrivateKey(gpg export): %v", err)
		}
		if !locked.Matches(k) {
			t.Fatalf("gpg private key does not match its public key")
		}
		if _, err := pgp.ReadPrivateKey(priv, []byte("gpg pass")); err != nil {
			t.Fatalf("ReadPrivateKey(gpg export): %v", err)
		}

		// Exported without its primary secret (a GnuPG stub): refused.
		priv = g.must(nil, "gpg pass", "--armor", "--export-secret-subkeys", fpr)
		_, err = pgp.CheckLockedPrivateKey(priv)
		wantErr(t, err, pgp.ErrKeyNotLocked, "key_not_locked")

		// A key gpg keeps unprotected is refused for storage.
		fpr = g.genKey("Unprotected <plain@example.nz>", "future-default", "")
		priv = g.must(nil, "", "--armor", "--export-secret-keys", fpr)
		_, err = pgp.CheckLockedPrivateKey(priv)
		wantErr(t, err, pgp.ErrKeyNotLocked, "key_not_locked")

		// DSA and RSA-2048 keys from gpg are weak.
		for _, algo := range []string{"dsa2048", "rsa2048"} {
			fpr = g.genKey("Weak "+algo+" <weak-"+algo+"@example.nz>", algo, "")
			_, err = pgp.ParsePublicKey(g.must(nil, "", "--export", fpr), time.Now().Add(time.Minute))
			wantErr(t, err, pgp.ErrWeakKey, "weak_key")
		}
	})
}
