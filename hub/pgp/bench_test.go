package pgp_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/karerehub/karere/hub/pgp"
)

// BenchmarkCheckRecipients is the server's work per submitted message: Inspect
// an armored, signed message of about 1 KiB to the patient and team keys,
// then CheckRecipients with the sender's key allowed.
func BenchmarkCheckRecipients(b *testing.B) {
	ps := testParties(b)
	msg, err := pgp.Encrypt([]byte(strings.Repeat("Kia ora, a typical message. ", 36)), []*pgp.PublicKey{ps.patient.pub, ps.team.pub}, ps.staff.priv)
	if err != nil {
		b.Fatal(err)
	}
	req := required(ps)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		env, err := pgp.Inspect(bytes.NewReader(msg), 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if err := pgp.CheckRecipients(env, req, ps.staff.pub); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkSeal(b *testing.B, size int) {
	ps := testParties(b)
	plaintext := bytes.Repeat([]byte("x"), size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pgp.Seal(plaintext, ps.patient.pub, ps.team.pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal1KiB: encrypting an SMS-sized reply on arrival to two keys
// (two X25519 ECDH operations dominate).
func BenchmarkSeal1KiB(b *testing.B) { benchmarkSeal(b, 1<<10) }

// BenchmarkSeal64KiB: a long email reply.
func BenchmarkSeal64KiB(b *testing.B) { benchmarkSeal(b, 64<<10) }
