package email

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
)

func readDSN(t *testing.T, name string) (*DSN, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "dsn", name))
	if err != nil {
		t.Fatal(err)
	}
	return ParseDSN(bytes.NewReader(b))
}

func TestParseDSNPostfixHardBounce(t *testing.T) {
	d, err := readDSN(t, "postfix-hard.eml")
	if err != nil {
		t.Fatal(err)
	}
	if d.ReportingMTA != "mx.relay.example.nz" || d.OriginalEnvelopeID != "dlv_01jd8x7v2q0000000000000000" {
		t.Errorf("per-message fields: %+v", d)
	}
	if d.OriginalMessageID != "dlv_01jd8x7v2q0000000000000000@kowhai.example.nz" {
		t.Errorf("OriginalMessageID = %q", d.OriginalMessageID)
	}
	if len(d.Recipients) != 1 {
		t.Fatalf("recipients = %+v", d.Recipients)
	}
	r := d.Recipients[0]
	if r.Action != "failed" || r.Status != "5.1.1" || r.FinalRecipient != "hemi@example.net" ||
		r.DiagnosticCode != "smtp; 550 5.1.1 <hemi@example.net>: Recipient address rejected: User unknown in virtual mailbox table" {
		t.Errorf("recipient = %+v", r)
	}
	at := time.Date(2025, 12, 4, 10, 31, 0, 0, time.UTC)
	if r.OriginalRecipient != "hemi@example.net" {
		t.Errorf("OriginalRecipient = %q", r.OriginalRecipient)
	}
	wantRecipients := []string{"hemi@example.net", "hemi@example.net"}
	u, ok := d.StatusUpdate("dlv_x", at)
	want := hub.StatusUpdate{Channel: "email", ProviderID: d.OriginalMessageID, DeliveryID: "dlv_x",
		State: hub.StateBounced, ErrorCode: "5.1.1", Permanent: true, At: at, Recipients: wantRecipients}
	if !ok || !reflect.DeepEqual(u, want) {
		t.Errorf("StatusUpdate = %+v, %v; want %+v", u, ok, want)
	}
}

func TestParseDSNKinds(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		status string
		hard   bool
		ok     bool
	}{
		{name: "delayed is not a bounce", file: "delayed.eml"},
		{name: "failed with 4.x.x is a soft bounce", file: "soft-failed.eml", status: "4.2.2", ok: true},
		{name: "status taken from the diagnostic code", file: "no-status.eml", status: "5.1.1", hard: true, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := readDSN(t, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			status, hard, ok := d.Bounce()
			if status != tt.status || hard != tt.hard || ok != tt.ok {
				t.Errorf("Bounce() = %q %v %v, want %q %v %v", status, hard, ok, tt.status, tt.hard, tt.ok)
			}
		})
	}
	d, _ := readDSN(t, "soft-failed.eml")
	if d.OriginalMessageID != "dlv_02@kowhai.example.nz" {
		t.Errorf("message/rfc822 Message-ID = %q", d.OriginalMessageID)
	}
}

func TestParseDSNNotDSN(t *testing.T) {
	if _, err := readDSN(t, "not-a-dsn.eml"); !errors.Is(err, ErrNotDSN) {
		t.Errorf("err = %v, want ErrNotDSN", err)
	}
	if _, err := readDSN(t, "report-without-status.eml"); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
}
