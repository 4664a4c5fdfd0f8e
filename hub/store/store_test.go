package store_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
	"github.com/karerehub/karere/internal/testenv"
)

// backends are the databases every test runs against.
var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "karere.db") }},
	{"postgres", func(t *testing.T) string { return testenv.PostgresSchema(t) }},
}

// forEachDB runs fn against a fresh, migrated store of each backend.
func forEachDB(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fn(t, openStore(t, b.url(t)))
		})
	}
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx := t.Context()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// ts is a time with nanoseconds, which the store truncates to microseconds.
func ts(offset time.Duration) time.Time {
	return time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("NZDT", 13*3600)).Add(offset)
}

// us is t as the store returns it.
func us(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func usPtr(t time.Time) *time.Time { u := us(t); return &u }

func mustPractice(t *testing.T, s *store.Store, name string) *hub.Practice {
	t.Helper()
	p := &hub.Practice{Name: name, TimeZone: "Pacific/Auckland", Phone: "+6491234567", Created: ts(0)}
	if err := s.CreatePractice(t.Context(), p); err != nil {
		t.Fatalf("CreatePractice: %v", err)
	}
	return p
}

func mustPatient(t *testing.T, s *store.Store, practiceID, externalID string) *hub.Patient {
	t.Helper()
	p := &hub.Patient{
		PracticeID: practiceID, ExternalID: externalID, GivenName: "Aroha", FamilyName: "Ngata",
		Phone: "+64211234567", Email: "Aroha@Example.org", Channels: []string{hub.ChannelSMS, hub.ChannelEmail},
		Locale: "mi-NZ", Created: ts(0), Updated: ts(0),
	}
	if _, err := s.PutPatient(t.Context(), p); err != nil {
		t.Fatalf("PutPatient: %v", err)
	}
	return p
}

func mustNotice(t *testing.T, s *store.Store, pat *hub.Patient) *hub.Notice {
	t.Helper()
	n := &hub.Notice{PracticeID: pat.PracticeID, PatientID: pat.ID, Kind: "result", Text: "Your results are in.",
		Channels: []string{hub.ChannelPortal, hub.ChannelSMS}, Mode: hub.ModeLive, Created: ts(0)}
	if err := s.CreateNotice(t.Context(), n); err != nil {
		t.Fatalf("CreateNotice: %v", err)
	}
	return n
}

func mustDelivery(t *testing.T, s *store.Store, n *hub.Notice, channel string, updated time.Time) *hub.Delivery {
	t.Helper()
	d := &hub.Delivery{PracticeID: n.PracticeID, PatientID: n.PatientID, NoticeID: n.ID, Channel: channel,
		Kind: n.Kind, Mode: n.Mode, State: hub.StatePending, Created: updated, Updated: updated}
	if err := s.CreateDelivery(t.Context(), d); err != nil {
		t.Fatalf("CreateDelivery: %v", err)
	}
	return d
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}
