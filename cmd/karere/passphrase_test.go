package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keygen refuses a weak passphrase, says why and what to do, and writes
// no key.
func TestKeygenRefusesWeakPassphrase(t *testing.T) {
	tests := []struct {
		name, pass string
		want       string // in the error; "" for accepted
	}{
		{"short", "kiwi2024", "too short (8 characters): use at least 12"},
		{"short in characters, long in bytes", "kōwhaikōwha", "too short (11 characters)"},
		{"a common password with digits", "Password1234!", "too easy to guess"},
		{"a keyboard run", "qwertyuiopasdf", "too easy to guess"},
		{"one letter repeated", "aaaaaaaaaaaaaaaaaaaa", "too easy to guess"},
		{"the key's own name and a year", "Aroha Ngata 2024", "too easy to guess"},
		{"a season and a year", "Summer2026!!", "too easy to guess"},
		{"four random words", "glacier mango velvet harbour", ""},
		{"a passphrase in te reo and English", "kōwhai passphrase for Sione", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			c := &cli{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
				getenv: func(k string) string {
					if k == "KARERE_PASSPHRASE" {
						return tc.pass
					}
					return ""
				}}
			kf := filepath.Join(t.TempDir(), "k.key")
			err := c.run([]string{"keygen", "--name", "Aroha Ngata", "--email", "aroha@example.nz", "--out", kf})
			_, statErr := os.Stat(kf)
			if tc.want == "" {
				if err != nil || statErr != nil {
					t.Fatalf("strong passphrase refused: %v (key file: %v)", err, statErr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "random words") {
				t.Fatalf("keygen with %q: %v; want an error with %q and advice", tc.pass, err, tc.want)
			}
			if !errors.Is(statErr, fs.ErrNotExist) {
				t.Errorf("a key was written for a refused passphrase")
			}
		})
	}
}
