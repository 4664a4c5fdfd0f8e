package pgp_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/karerehub/karere/hub/pgp"
)

// FuzzInspect feeds Inspect arbitrary input. The seed corpus in
// testdata/fuzz/FuzzInspect holds valid messages (from go-crypto, GnuPG and
// Seal, armored and binary, with partial lengths, marker and padding) and
// refused ones (plaintext, compressed, symmetric, SED, anonymous, truncated,
// trailing data). Run: go test -fuzz FuzzInspect -fuzztime 60s ./hub/pgp/
func FuzzInspect(f *testing.F) {
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n"))
	f.Add([]byte{0xc1, 0x0a, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 18})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		env, err := pgp.Inspect(bytes.NewReader(data), limit)
		if err != nil {
			if pgp.Code(err) == "" {
				t.Fatalf("error without an API code: %v", err)
			}
			return
		}
		if len(env.Recipients) == 0 || slices.Contains(env.Recipients, 0) {
			t.Fatalf("accepted recipients %X", env.Recipients)
		}
		if env.Size != len(env.Binary) || env.Size > limit || env.Size == 0 {
			t.Fatalf("size %d, binary %d", env.Size, len(env.Binary))
		}
		// What the server stores inspects the same, binary or re-armored.
		for _, stored := range [][]byte{env.Binary, pgp.Armor(env.Binary)} {
			again, err := pgp.Inspect(bytes.NewReader(stored), limit)
			if err != nil {
				t.Fatalf("stored form refused: %v", err)
			}
			if !bytes.Equal(again.Binary, env.Binary) || !slices.Equal(again.Recipients, env.Recipients) {
				t.Fatal("stored form inspects differently")
			}
		}
	})
}
