package store_test

import (
	"bytes"
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func TestPractices(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := mustPractice(t, s, "Kauri Health")
		b := mustPractice(t, s, "Rimu Medical")
		if a.ID == "" || a.Created != us(ts(0)) {
			t.Fatalf("CreatePractice left ID %q, Created %v", a.ID, a.Created)
		}
		got, err := s.GetPractice(ctx, a.ID)
		if err != nil {
			t.Fatalf("GetPractice: %v", err)
		}
		wantEqual(t, "practice", *got, *a)
		all, err := s.ListPractices(ctx)
		if err != nil {
			t.Fatalf("ListPractices: %v", err)
		}
		if len(all) != 2 || all[0].ID != min(a.ID, b.ID) {
			t.Errorf("ListPractices = %+v", all)
		}
		_, err = s.GetPractice(ctx, "prc_missing")
		wantErr(t, "GetPractice missing", err, hub.ErrNoRows)
	})
}

func TestAPIKeys(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		k := &hub.APIKey{ID: "key_abc", PracticeID: p.ID, Mode: hub.ModeTest, SecretHash: []byte{1, 2, 3, 0, 255},
			Label: "PMS", Created: ts(0), Revoked: usPtr(ts(3600e9))}
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
		got, err := s.GetAPIKey(ctx, "key_abc")
		if err != nil {
			t.Fatalf("GetAPIKey: %v", err)
		}
		wantEqual(t, "api key", *got, *k)

		live := &hub.APIKey{ID: "key_live", PracticeID: p.ID, Mode: hub.ModeLive, SecretHash: []byte("h")}
		if err := s.CreateAPIKey(ctx, live); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
		got, err = s.GetAPIKey(ctx, "key_live")
		if err != nil {
			t.Fatalf("GetAPIKey: %v", err)
		}
		if got.Revoked != nil || got.Created.IsZero() {
			t.Errorf("live key: Revoked %v, Created %v", got.Revoked, got.Created)
		}
		_, err = s.GetAPIKey(ctx, "key_nope")
		wantErr(t, "GetAPIKey missing", err, hub.ErrNoRows)
	})
}

func TestStaff(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		st := &hub.Staff{PracticeID: p.ID, Email: "Nurse@Kauri.example", Name: "Mere", PasswordHash: "$argon2id$v=19$x", Created: ts(0)}
		if err := s.CreateStaff(ctx, st); err != nil {
			t.Fatalf("CreateStaff: %v", err)
		}
		got, err := s.GetStaff(ctx, p.ID, st.ID)
		if err != nil {
			t.Fatalf("GetStaff: %v", err)
		}
		wantEqual(t, "staff", *got, *st)
		got, err = s.GetStaffByEmail(ctx, "nurse@KAURI.example")
		if err != nil {
			t.Fatalf("GetStaffByEmail: %v", err)
		}
		wantEqual(t, "staff by email", *got, *st)
		list, err := s.ListStaff(ctx, p.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListStaff = %v, %v", list, err)
		}
		_, err = s.GetStaffByEmail(ctx, "nobody@kauri.example")
		wantErr(t, "GetStaffByEmail missing", err, hub.ErrNoRows)
	})
}

func TestSettings(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		_, err := s.GetSetting(ctx, p.ID, hub.SettingSMS)
		wantErr(t, "GetSetting before put", err, hub.ErrNoRows)
		for _, v := range [][]byte{{0, 1, 2, 0xff}, []byte("second")} {
			if err := s.PutSetting(ctx, p.ID, hub.SettingSMS, v); err != nil {
				t.Fatalf("PutSetting: %v", err)
			}
			got, err := s.GetSetting(ctx, p.ID, hub.SettingSMS)
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("GetSetting = %q, %v; want %q", got, err, v)
			}
		}
		if err := s.PutSetting(ctx, p.ID, hub.SettingEmail, []byte("e")); err != nil {
			t.Fatalf("PutSetting email: %v", err)
		}
		if got, _ := s.GetSetting(ctx, p.ID, hub.SettingSMS); string(got) != "second" {
			t.Errorf("sms setting = %q after putting email", got)
		}
	})
}

func TestAudit(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		events := []*hub.AuditEvent{
			{PracticeID: p.ID, Actor: "key:key_abc", Action: "patient.put", PatientID: "pat_1", Subject: "pat_1", Source: "192.0.2.1", At: ts(0)},
			{PracticeID: p.ID, Actor: "worker", Action: "delivery.sent", PatientID: "pat_1", Subject: "dlv_1", At: ts(1e9)},
			{PracticeID: p.ID, Actor: "staff:stf_1", Action: "staff.signin", At: ts(2e9)},
		}
		for _, e := range events {
			if err := s.AddAudit(ctx, e); err != nil {
				t.Fatalf("AddAudit: %v", err)
			}
		}
		got, err := s.ListAudit(ctx, p.ID, "pat_1", 0)
		if err != nil {
			t.Fatalf("ListAudit: %v", err)
		}
		wantEqual(t, "patient audit", got, []hub.AuditEvent{*events[1], *events[0]})
		all, err := s.ListAudit(ctx, p.ID, "", 2)
		if err != nil {
			t.Fatalf("ListAudit all: %v", err)
		}
		wantEqual(t, "practice audit, limit 2", all, []hub.AuditEvent{*events[2], *events[1]})
	})
}
