package email

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParseReply feeds arbitrary messages to the inbound parsers. The seed
// corpus is in testdata/fuzz/FuzzParseReply (real-looking replies, bounces
// and malformed messages). Run with:
//
//	go test -run '^$' -fuzz FuzzParseReply -fuzztime 60s ./channels/email/
func FuzzParseReply(f *testing.F) {
	f.Add([]byte("From: a@example.net\r\n\r\nhi\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, ciphertext, id, err := ParseReply(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		if id == "" {
			t.Fatal("no message id")
		}
		if !utf8.ValidString(text) {
			t.Fatalf("text is not UTF-8: %q", text)
		}
		if text != "" && ciphertext != nil {
			t.Fatal("both text and ciphertext")
		}
		if StripQuoted(text) != text {
			t.Fatalf("StripQuoted is not idempotent on %q", text)
		}
		// The same bytes give the same id (de-duplication).
		if _, _, id2, _ := ParseReply(bytes.NewReader(data)); id2 != id {
			t.Fatalf("message id changed: %q then %q", id, id2)
		}
		// ParseDSN must not panic on the same input either.
		if _, err := ParseDSN(bytes.NewReader(data)); err != nil && !errors.Is(err, ErrNotDSN) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseDSN error is neither ErrNotDSN nor ErrMalformed: %v", err)
		}
	})
}
