package email

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "replies", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		text      string
		messageID string
	}{
		{name: "gmail multipart/alternative, quoted-printable", file: "gmail-alternative.eml",
			text: "thanks, Friday. Ngā mihi", messageID: "CAF=abc123@mail.gmail.com"},
		{name: "outlook HTML only, base64", file: "outlook-html-only.eml",
			text:      "Kia ora,\n\nCould I please have an appointment next week?\n\nHemi & Mere",
			messageID: "SY4P282MB1234@SY4P282MB1234.AUSP282.PROD.OUTLOOK.COM"},
		{name: "apple mail quoted-printable", file: "apple-qp.eml",
			text:      "Kia ora, I can't make Thursday — could we do the same time next week instead? My daughter's rāhui is on.",
			messageID: "E1A2B3C4-0000-4000-8000-ABCDEF012345@example.org"},
		{name: "thunderbird base64 with signature", file: "thunderbird-base64.eml",
			text: "Thank you, Tama is feeling better now.", messageID: "7d1e2f3a-1111-2222-3333-444455556666@example.com"},
		{name: "iso-8859-1", file: "latin1.eml",
			text: "Merci, à vendredi. Café?", messageID: "latin1-0001@example.fr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, c, id, err := ParseReply(bytes.NewReader(readTestdata(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.text {
				t.Errorf("text =\n%q\nwant\n%q", text, tt.text)
			}
			if c != nil {
				t.Errorf("ciphertext = %x", c)
			}
			if id != tt.messageID {
				t.Errorf("messageID = %q, want %q", id, tt.messageID)
			}
		})
	}
}

func TestParseReplyPGPMIME(t *testing.T) {
	text, c, id, err := ParseReply(bytes.NewReader(readTestdata(t, "pgp-mime.eml")))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := base64.StdEncoding.DecodeString("wV4DESIzRFVmd4gSAQdAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g")
	if text != "" || !bytes.Equal(c, want) || id != "pgp-0001@example.net" {
		t.Errorf("ParseReply = %q, %x, %q", text, c, id)
	}
}

func TestParseReplyInlinePGP(t *testing.T) {
	msg := "From: hemi@example.net\r\nMessage-ID: <inline@example.net>\r\n\r\n" +
		"-----BEGIN PGP MESSAGE-----\r\n\r\nwV4DESIzRFVmd4gSAQdAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\r\n-----END PGP MESSAGE-----\r\n"
	text, c, _, err := ParseReply(strings.NewReader(msg))
	if err != nil || text != "" || len(c) != 48 || c[0] != 0xc1 {
		t.Errorf("ParseReply = %q, %x, %v", text, c, err)
	}
}

func TestParseReplyNoMessageID(t *testing.T) {
	data := readTestdata(t, "no-message-id.eml")
	text, _, id1, err := ParseReply(bytes.NewReader(data))
	if err != nil || text != "Just checking in." {
		t.Fatalf("ParseReply = %q, %v", text, err)
	}
	_, _, id2, _ := ParseReply(bytes.NewReader(data))
	if !strings.HasPrefix(id1, "sha256-") || id1 != id2 {
		t.Errorf("ids %q, %q: want the same content hash", id1, id2)
	}
	_, _, id3, _ := ParseReply(bytes.NewReader(append(data, "more\r\n"...)))
	if id3 == id1 {
		t.Error("different messages got the same id")
	}
}

func TestParseReplyAutoReply(t *testing.T) {
	rep, err := parseReply(bytes.NewReader(readTestdata(t, "auto-reply.eml")))
	if err != nil || !rep.auto {
		t.Errorf("auto-reply not recognised: %+v, %v", rep, err)
	}
	rep, err = parseReply(bytes.NewReader(readTestdata(t, "gmail-alternative.eml")))
	if err != nil || rep.auto || rep.from != "hemi@example.net" {
		t.Errorf("gmail reply: %+v, %v", rep, err)
	}
}

func TestParseReplyMalformed(t *testing.T) {
	for _, name := range []string{"malformed-header.eml", "malformed-base64.eml", "encrypted-without-payload.eml"} {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := ParseReply(bytes.NewReader(readTestdata(t, name)))
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"paragraphs and breaks", "<p>Kia ora,</p><p>line one<br>line two</p>", "Kia ora,\n\nline one\nline two"},
		{"entities and spaces", "Hemi&nbsp;&amp;   Mere &lt;3 &#333;", "Hemi & Mere <3 ō"},
		{"script and style dropped", "<style>.a{}</style><script>alert(1)</script>Hi", "Hi"},
		{"blockquote dropped", "Yes<blockquote>Can you come?<blockquote>deeper</blockquote></blockquote>thanks", "Yes\nthanks"},
		{"gmail quote cut", `ok<div class="gmail_quote">On ... wrote:<blockquote>old</blockquote></div>`, "ok"},
		{"thunderbird quote cut", `fine<div class="moz-cite-prefix">On 4/12/25 wrote:<br></div><blockquote type="cite">old</blockquote>`, "fine"},
		{"comment dropped", "a<!-- hidden -->b", "ab"},
		{"unclosed tag", "text <b", "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := htmlToText(tt.in); got != tt.want {
				t.Errorf("htmlToText = %q, want %q", got, tt.want)
			}
		})
	}
}
