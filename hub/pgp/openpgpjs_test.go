package pgp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/hub/pgp"
)

// openpgpjs runs testdata/openpgpjs/script.mjs under Node with the npm
// package openpgp (v6, pinned in package-lock.json), installing it with
// "npm ci" when node_modules is missing. Node and npm are required: the test
// fails, it does not skip, without them.
type openpgpjs struct {
	t   *testing.T
	dir string
}

func newOpenPGPjs(t *testing.T) *openpgpjs {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required for the OpenPGP.js interoperability test (Node 18 or later): %v", tool, err)
		}
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "openpgpjs"))
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "node_modules", "openpgp", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	raw, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(raw, &meta); err != nil || !strings.HasPrefix(meta.Version, "6.") {
		t.Fatalf("openpgp package version %q (%v), want 6.x", meta.Version, err)
	}
	t.Logf("OpenPGP.js %s", meta.Version)
	return &openpgpjs{t: t, dir: dir}
}

// call sends one request to the script and decodes its answer into resp.
func (js *openpgpjs) call(req map[string]any, resp any) {
	js.t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		js.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "script.mjs")
	cmd.Dir = js.dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		js.t.Fatalf("node script.mjs %s: %v\n%s", req["op"], err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), resp); err != nil {
		js.t.Fatalf("node script.mjs %s: bad answer %q: %v", req["op"], stdout.String(), err)
	}
}

type jsDecrypted struct {
	Text       string
	Signatures []struct {
		KeyID    string
		Verified bool
		Error    string
	}
}

func TestOpenPGPjsInterop(t *testing.T) {
	ps := testParties(t)
	js := newOpenPGPjs(t)

	t.Run("OpenPGP.js message passes Inspect and Decrypt", func(t *testing.T) {
		text := "Kia ora, could I book a flu jab?\nNgā mihi, Aroha"
		var enc struct{ Message string }
		js.call(map[string]any{
			"op":         "encrypt",
			"text":       text,
			"recipients": []string{string(ps.patient.pubArmored), string(ps.team.pubArmored)},
			"signingKey": string(ps.patient.privArmored),
			"passphrase": string(ps.patient.passphrase),
		}, &enc)
		env, err := inspect([]byte(enc.Message))
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if err := pgp.CheckRecipients(env, required(ps)); err != nil {
			t.Fatalf("CheckRecipients: %v", err)
		}
		for _, reader := range []*party{ps.team, ps.patient} {
			pt, err := pgp.Decrypt([]byte(enc.Message), openpgp.EntityList{reader.priv}, pgp.Keyring(ps.patient.pub, ps.staff.pub))
			if err != nil {
				t.Fatalf("%s: Decrypt: %v", reader.name, err)
			}
			// OpenPGP.js writes text as UTF-8 literal data with CRLF line ends.
			if got := strings.ReplaceAll(string(pt.Data), "\r\n", "\n"); got != text {
				t.Fatalf("%s: plaintext %q", reader.name, pt.Data)
			}
			if pt.Signature != pgp.SignatureGood || pt.SignerFingerprint != ps.patient.pub.Fingerprint {
				t.Fatalf("%s: signature %v by %s (%v)", reader.name, pt.Signature, pt.SignerFingerprint, pt.SignatureError)
			}
		}
	})

	t.Run("OpenPGP.js decrypts and verifies Encrypt", func(t *testing.T) {
		text := "Your results are back: all normal.\nDr Tane"
		msg, err := pgp.Encrypt([]byte(text), []*pgp.PublicKey{ps.patient.pub, ps.team.pub}, ps.staff.priv)
		if err != nil {
			t.Fatal(err)
		}
		var dec jsDecrypted
		js.call(map[string]any{
			"op":               "decrypt",
			"message":          string(msg),
			"privateKey":       string(ps.patient.privArmored),
			"passphrase":       string(ps.patient.passphrase),
			"verificationKeys": []string{string(ps.staff.pubArmored)},
		}, &dec)
		if dec.Text != text {
			t.Fatalf("OpenPGP.js decrypted %q", dec.Text)
		}
		if len(dec.Signatures) != 1 || !dec.Signatures[0].Verified || dec.Signatures[0].KeyID != ps.staff.pub.KeyIDString() {
			t.Fatalf("OpenPGP.js signatures: %+v", dec.Signatures)
		}

		// A sealed SMS reply too (unsigned).
		sealed, err := pgp.Seal([]byte("N, can't make it"), ps.patient.pub, ps.team.pub)
		if err != nil {
			t.Fatal(err)
		}
		js.call(map[string]any{
			"op":         "decrypt",
			"message":    string(pgp.Armor(sealed)),
			"privateKey": string(ps.team.privArmored),
			"passphrase": string(ps.team.passphrase),
		}, &dec)
		if dec.Text != "N, can't make it" || len(dec.Signatures) != 0 {
			t.Fatalf("OpenPGP.js read the sealed reply as %q, %+v", dec.Text, dec.Signatures)
		}
	})

	t.Run("OpenPGP.js keys", func(t *testing.T) {
		var keys struct{ PublicKey, PrivateKey string }
		js.call(map[string]any{"op": "generate", "name": "Browser Patient", "email": "browser@example.nz", "passphrase": "browser pass"}, &keys)
		pub, err := pgp.ParsePublicKey([]byte(keys.PublicKey), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatalf("ParsePublicKey(OpenPGP.js key): %v", err)
		}
		if pub.Algorithm != "EdDSA Ed25519 + ECDH Curve25519" || pub.UserID != "Browser Patient <browser@example.nz>" {
			t.Fatalf("OpenPGP.js key: %q %q", pub.Algorithm, pub.UserID)
		}
		locked, err := pgp.CheckLockedPrivateKey([]byte(keys.PrivateKey))
		if err != nil {
			t.Fatalf("CheckLockedPrivateKey(OpenPGP.js key): %v", err)
		}
		if !locked.Matches(pub) {
			t.Fatal("OpenPGP.js private key does not match its public key")
		}
		priv, err := pgp.ReadPrivateKey([]byte(keys.PrivateKey), []byte("browser pass"))
		if err != nil {
			t.Fatal(err)
		}
		// Go encrypts to the browser key; OpenPGP.js reads it.
		msg, err := pgp.Encrypt([]byte("to the browser"), []*pgp.PublicKey{pub, ps.team.pub}, ps.staff.priv)
		if err != nil {
			t.Fatal(err)
		}
		var dec jsDecrypted
		js.call(map[string]any{
			"op": "decrypt", "message": string(msg), "privateKey": keys.PrivateKey, "passphrase": "browser pass",
			"verificationKeys": []string{string(ps.staff.pubArmored)},
		}, &dec)
		if dec.Text != "to the browser" || len(dec.Signatures) != 1 || !dec.Signatures[0].Verified {
			t.Fatalf("OpenPGP.js: %q %+v", dec.Text, dec.Signatures)
		}
		// And Go decrypts with the browser key.
		if pt, err := pgp.Decrypt(msg, openpgp.EntityList{priv}, pgp.Keyring(ps.staff.pub)); err != nil || string(pt.Data) != "to the browser" {
			t.Fatalf("Decrypt with OpenPGP.js key: %v", err)
		}
	})
}
