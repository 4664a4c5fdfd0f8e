package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub/pgp"
)

// threads lists threads.
func (c *cli) threads(args []string) error {
	fs := c.flags("threads")
	unread := fs.Bool("unread", false, "only threads with patient messages staff have not read")
	patient := fs.String("patient", "", "only this patient's threads")
	if _, err := positional(fs, args, 0, ""); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	ts, err := cl.ListThreads(c.ctx, client.ThreadFilter{Unread: *unread, Patient: *patient})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "THREAD\tPATIENT\tCATEGORY\tSTATUS\tUNREAD\tLAST ACTIVITY")
	for _, t := range ts {
		fmt.Fprintf(w, "%s\t%s (%s)\t%s\t%s\t%d\t%s\n", t.ID, t.Patient, oneLine(t.PatientName), t.Category,
			t.Status, t.Unread, t.LastActivityAt.Local().Format(time.DateTime))
	}
	return w.Flush()
}

// threadNew opens a thread.
func (c *cli) threadNew(args []string) error {
	fs := c.flags("thread new")
	patient := fs.String("patient", "", "the patient's external id")
	category := fs.String("category", "", "category (default general)")
	if _, err := positional(fs, args, 0, ""); err != nil {
		return err
	}
	if err := required(fs, "patient"); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	t, err := cl.CreateThread(c.ctx, *patient, *category)
	if err != nil {
		return err
	}
	c.printf("%s\n", t.ID)
	return nil
}

// send encrypts standard input to the thread's patient and team keys,
// signs it with --key-file and posts it.
func (c *cli) send(args []string) error {
	fs := c.flags("send")
	thread := fs.String("thread", "", "thread id")
	as := fs.String("as", "", "who you are: patient or staff:<your staff id>")
	pinPatient := fs.String("pin-patient", "", "refuse unless the patient's key has this fingerprint")
	pinTeam := fs.String("pin-team", "", "refuse unless the team key has this fingerprint")
	if _, err := positional(fs, args, 0, ""); err != nil {
		return err
	}
	if err := required(fs, "thread", "as"); err != nil {
		return err
	}
	from, err := sender(*as)
	if err != nil {
		return err
	}
	me, err := c.unlock()
	if err != nil {
		return err
	}
	text, err := io.ReadAll(io.LimitReader(c.stdin, maxPlaintext+1))
	if err != nil {
		return fmt.Errorf("reading the message: %w", err)
	}
	if len(text) > maxPlaintext {
		return fmt.Errorf("the message is over %d bytes", maxPlaintext)
	}
	if len(strings.TrimSpace(string(text))) == 0 {
		return usagef("send: the message on standard input is empty")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	var opts []client.SendOption
	if *pinPatient != "" {
		opts = append(opts, client.PinPatient(*pinPatient))
	}
	if *pinTeam != "" {
		opts = append(opts, client.PinTeam(*pinTeam))
	}
	s, err := cl.SendSecure(c.ctx, *thread, from, text, me, opts...)
	if err != nil {
		return err
	}
	c.printf("sent %s (%d bytes encrypted to patient key %s and team key %s)\n", s.ID, s.Size,
		s.PatientFingerprint, s.TeamFingerprint)
	return nil
}

// read decrypts and verifies a thread.
func (c *cli) read(args []string) error {
	fs := c.flags("read")
	thread := fs.String("thread", "", "thread id")
	as := fs.String("as", "patient", "who you are: patient or staff:<your staff id> (staff read through their team key grant)")
	markRead := fs.Bool("mark-read", false, "mark the thread read for your side")
	if _, err := positional(fs, args, 0, ""); err != nil {
		return err
	}
	if err := required(fs, "thread"); err != nil {
		return err
	}
	who, err := sender(*as)
	if err != nil {
		return err
	}
	me, err := c.unlock()
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	keys := openpgp.EntityList{me}
	if id := who.StaffID(); id != "" {
		tk, err := cl.TeamKey(c.ctx, id, me)
		if err != nil {
			return fmt.Errorf("opening your team key grant: %w", err)
		}
		keys = append(tk.Keyring(), me)
	}
	ds, err := cl.ReadThread(c.ctx, *thread, keys, nil)
	if err != nil {
		return err
	}
	problems := 0
	for i := range ds {
		if !c.printMessage(&ds[i]) {
			problems++
		}
	}
	if *markRead {
		reader := client.ReaderPatient
		if who.StaffID() != "" {
			reader = client.ReaderStaff
		}
		if _, err := cl.MarkRead(c.ctx, *thread, reader); err != nil {
			return err
		}
	}
	if problems > 0 {
		return fmt.Errorf("%d of %d messages could not be decrypted or verified", problems, len(ds))
	}
	return nil
}

// printMessage prints one message and reports whether it was decrypted
// with a good signature by its sender (or arrived unencrypted, unsigned).
func (c *cli) printMessage(d *client.Decrypted) bool {
	c.printf("--- %s  %s  from %s via %s\n", d.ID, d.CreatedAt.Local().Format(time.DateTime), d.Sender, d.Via)
	if d.Err != nil {
		c.printf("cannot decrypt: %v\n\n", d.Err)
		return false
	}
	ok := true
	switch {
	case d.ArrivedUnencrypted:
		c.printf("arrived unencrypted via %s: encrypted by the hub on arrival, not signed by the sender\n", d.Via)
		ok = d.Signature == pgp.Unsigned
	case d.SenderVerified():
		c.printf("signature good: signed by %s (%s)\n", d.SignedBy, d.SignerFingerprint)
	case d.Signature == pgp.SignatureGood:
		c.printf("WARNING: signature good, but by %s (%s), not by the sender %s\n", d.SignedBy, d.SignerFingerprint, d.Sender)
		ok = false
	case d.Signature == pgp.SignatureBad:
		c.printf("WARNING: signature BAD (key %s): %v\n", d.SignerFingerprint, d.SignatureError)
		ok = false
	case d.Signature == pgp.SignatureUnknownSigner:
		c.printf("WARNING: signed by key %016X, which is not in the directory\n", d.SignerKeyID)
		ok = false
	default:
		c.printf("WARNING: not signed\n")
		ok = false
	}
	if d.SenderUnverified {
		c.printf("WARNING: sender not verified: emailed from an address that is not the patient's or guardian's\n")
		ok = false
	}
	c.printf("\n%s\n", printable(strings.TrimRight(string(d.Plaintext), "\n")))
	c.printf("\n")
	return ok
}

// printable replaces control characters other than newline and tab (a
// sender could otherwise drive the reader's terminal with escape
// sequences) and invalid UTF-8.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
