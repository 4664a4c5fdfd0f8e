package store_test

import (
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func TestPutPatient(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		p := &hub.Patient{
			PracticeID: pr.ID, ExternalID: "NHI-ZZZ0016", GivenName: "Tama", FamilyName: "Walker",
			Phone: "+64211234567", Email: "tama@example.org", Channels: []string{hub.ChannelPortal, hub.ChannelSMS},
			Locale: "en-NZ", DateOfBirth: "2015-06-01",
			Guardian:       &hub.Guardian{Name: "Hine Walker", Phone: "+64219876543", Email: "hine@example.org"},
			EncryptedEmail: true, SMSOptOut: usPtr(ts(-time.Hour)), Created: ts(0), Updated: ts(0),
			KindOptOuts: map[string][]string{"prescription_ready": {"sms"}},
		}
		created, err := s.PutPatient(ctx, p)
		if err != nil || !created {
			t.Fatalf("PutPatient new = %v, %v; want created", created, err)
		}
		if p.ID == "" || p.Created != us(ts(0)) {
			t.Fatalf("PutPatient left ID %q, Created %v", p.ID, p.Created)
		}
		want := *p
		want.Updated = us(ts(0))
		got, err := s.GetPatient(ctx, pr.ID, "NHI-ZZZ0016")
		if err != nil {
			t.Fatalf("GetPatient: %v", err)
		}
		wantEqual(t, "patient", *got, want)
		got, err = s.GetPatientByID(ctx, pr.ID, p.ID)
		if err != nil {
			t.Fatalf("GetPatientByID: %v", err)
		}
		wantEqual(t, "patient by id", *got, want)

		// Replace: a fresh record with another proposed id keeps the stored id
		// and Created, and replaces the rest.
		q := &hub.Patient{ID: "pat_other", PracticeID: pr.ID, ExternalID: "NHI-ZZZ0016", GivenName: "Tama",
			FamilyName: "Walker-Smith", EmailOptOut: usPtr(ts(time.Hour)), Created: ts(time.Hour), Updated: ts(2 * time.Hour)}
		created, err = s.PutPatient(ctx, q)
		if err != nil || created {
			t.Fatalf("PutPatient existing = %v, %v; want not created", created, err)
		}
		if q.ID != p.ID || q.Created != p.Created {
			t.Errorf("PutPatient existing set ID %q Created %v; want %q %v", q.ID, q.Created, p.ID, p.Created)
		}
		got, err = s.GetPatientByID(ctx, pr.ID, p.ID)
		if err != nil {
			t.Fatalf("GetPatientByID: %v", err)
		}
		wantEqual(t, "replaced patient", *got, *q)
		if got.Guardian != nil || got.SMSOptOut != nil || got.Channels != nil || got.EncryptedEmail {
			t.Errorf("replace kept old fields: %+v", got)
		}

		// EncryptedEmail is written by the update too.
		got.EncryptedEmail = true
		if _, err := s.PutPatient(ctx, got); err != nil {
			t.Fatalf("PutPatient encrypted email: %v", err)
		}
		if again, err := s.GetPatient(ctx, pr.ID, got.ExternalID); err != nil || !again.EncryptedEmail {
			t.Errorf("EncryptedEmail after update = %+v, %v; want true", again, err)
		}

		// Put of the record read back: same id, not created.
		created, err = s.PutPatient(ctx, got)
		if err != nil || created {
			t.Fatalf("PutPatient read-back = %v, %v; want not created", created, err)
		}
	})
}

func TestFindPatients(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		a := mustPatient(t, s, pr.ID, "A")
		b := mustPatient(t, s, pr.ID, "B") // same phone and email
		c := &hub.Patient{PracticeID: pr.ID, ExternalID: "C", Phone: "+64270000000", Email: "c@example.org", EncryptedEmail: true}
		if _, err := s.PutPatient(ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, find := range []func() ([]hub.Patient, error){
			func() ([]hub.Patient, error) { return s.FindPatientsByPhone(ctx, pr.ID, c.Phone) },
			func() ([]hub.Patient, error) { return s.FindPatientsByEmail(ctx, pr.ID, c.Email) },
		} {
			if got, err := find(); err != nil || len(got) != 1 || !got[0].EncryptedEmail {
				t.Errorf("find C = %+v, %v; want one with EncryptedEmail", got, err)
			}
		}
		tests := []struct {
			name string
			find func() ([]hub.Patient, error)
			want []string
		}{
			{"phone", func() ([]hub.Patient, error) { return s.FindPatientsByPhone(ctx, pr.ID, a.Phone) }, []string{a.ID, b.ID}},
			{"phone other", func() ([]hub.Patient, error) { return s.FindPatientsByPhone(ctx, pr.ID, "+64270000000") }, []string{c.ID}},
			{"phone none", func() ([]hub.Patient, error) { return s.FindPatientsByPhone(ctx, pr.ID, "+64279999999") }, nil},
			{"phone empty", func() ([]hub.Patient, error) { return s.FindPatientsByPhone(ctx, pr.ID, "") }, nil},
			{"email any case", func() ([]hub.Patient, error) { return s.FindPatientsByEmail(ctx, pr.ID, "aroha@EXAMPLE.org") }, []string{a.ID, b.ID}},
			{"email none", func() ([]hub.Patient, error) { return s.FindPatientsByEmail(ctx, pr.ID, "x@example.org") }, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.find()
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, p := range got {
					ids = append(ids, p.ID)
				}
				if len(tt.want) > 1 && tt.want[0] > tt.want[1] {
					tt.want[0], tt.want[1] = tt.want[1], tt.want[0]
				}
				wantEqual(t, "ids", ids, tt.want)
			})
		}
	})
}
