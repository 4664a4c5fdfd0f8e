package client_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/client"
)

// TestGnuPGReadsClientMessage: a message the client sent, read back from
// GET /v1/threads/{id}/messages, is decrypted and verified by GnuPG with
// the patient's private key.
func TestGnuPGReadsClientMessage(t *testing.T) {
	ctx := context.Background()
	c, staffID, patient, mere, th := oneThread(t)
	text := "Kia ora Aroha, your prescription is ready. Ngā mihi.\n"
	if _, err := c.SendSecure(ctx, th.ID, client.AsStaff(staffID), []byte(text), mere.entity); err != nil {
		t.Fatal(err)
	}
	ms, err := c.ListMessages(ctx, th.ID, "", 0)
	if err != nil || len(ms) != 1 {
		t.Fatalf("messages: %d %v", len(ms), err)
	}

	home := t.TempDir()
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = cmd.Run()
	})
	gpg := func(stdin []byte, args ...string) (string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		base := []string{"--homedir", home, "--batch", "--no-tty", "--status-fd", "2", "--pinentry-mode", "loopback",
			"--passphrase", string(patient.passphrase), "--trust-model", "always"}
		cmd := exec.CommandContext(ctx, "/usr/bin/gpg", append(base, args...)...)
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home, "LC_ALL=C")
		cmd.Stdin = bytes.NewReader(stdin)
		var out, status bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &status
		if err := cmd.Run(); err != nil {
			t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, status.String())
		}
		return out.String(), status.String()
	}
	gpg(patient.priv, "--import")
	gpg(mere.pub, "--import")
	out, status := gpg([]byte(ms[0].Ciphertext), "--decrypt")
	if out != text {
		t.Fatalf("gpg decrypted %q, want %q", out, text)
	}
	if !strings.Contains(status, "[GNUPG:] GOODSIG") || !strings.Contains(status, "[GNUPG:] VALIDSIG "+mere.fp) {
		t.Fatalf("gpg did not report a good signature by %s:\n%s", mere.fp, status)
	}
	if !strings.Contains(status, "[GNUPG:] DECRYPTION_OKAY") {
		t.Fatalf("gpg status:\n%s", status)
	}
}
