package store_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func mustTemplate(t *testing.T, s *store.Store, practiceID, kind, channel, locale, body string) *hub.PracticeTemplate {
	t.Helper()
	tp := &hub.PracticeTemplate{PracticeID: practiceID, Kind: kind, Channel: channel, Locale: locale,
		Body: body, Created: ts(0), CreatedBy: "key:test"}
	if err := s.PutTemplate(t.Context(), tp); err != nil {
		t.Fatalf("PutTemplate: %v", err)
	}
	return tp
}

func TestTemplates(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		if _, err := s.CurrentTemplate(ctx, pr.ID, "notice", "sms", "mi-NZ"); err == nil {
			t.Fatal("CurrentTemplate with none saved: want ErrNoRows")
		} else {
			wantErr(t, "CurrentTemplate with none saved", err, hub.ErrNoRows)
		}

		v1 := mustTemplate(t, s, pr.ID, "notice", "sms", "mi-NZ", "Kia ora {{.PatientFirstName}}")
		v2 := mustTemplate(t, s, pr.ID, "notice", "sms", "mi-NZ", "Kia ora anō {{.PatientFirstName}}")
		email := &hub.PracticeTemplate{PracticeID: pr.ID, Kind: "notice", Channel: "email", Locale: "en-NZ",
			Subject: "From {{.PracticeName}}", Body: "{{.Text}}", HTML: "<p>{{.Text}}</p>", Created: ts(1)}
		if err := s.PutTemplate(ctx, email); err != nil {
			t.Fatal(err)
		}
		if v1.Version != 1 || v2.Version != 2 || email.Version != 1 {
			t.Fatalf("versions = %d, %d, email %d; want 1, 2, 1", v1.Version, v2.Version, email.Version)
		}
		if v1.ID == "" || v1.ID == v2.ID {
			t.Errorf("ids %q, %q: want distinct, non-empty", v1.ID, v2.ID)
		}

		cur, err := s.CurrentTemplate(ctx, pr.ID, "notice", "sms", "mi-NZ")
		if err != nil {
			t.Fatal(err)
		}
		want := *v2
		want.Created = us(v2.Created)
		wantEqual(t, "current", *cur, want)

		vs, err := s.ListTemplateVersions(ctx, pr.ID, "notice", "sms", "mi-NZ", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 || vs[1].Body != v1.Body {
			t.Errorf("versions, newest first: %+v", vs)
		}
		if vs, err := s.ListTemplateVersions(ctx, pr.ID, "notice", "sms", "mi-NZ", 1); err != nil || len(vs) != 1 || vs[0].Version != 2 {
			t.Errorf("versions limit 1: %+v, %v", vs, err)
		}
		if vs, err := s.ListTemplateVersions(ctx, pr.ID, "notice", "sms", "en-NZ", 0); err != nil || len(vs) != 0 {
			t.Errorf("versions of another locale: %+v, %v", vs, err)
		}

		all, err := s.ListTemplates(ctx, pr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].Channel != "email" || all[0].Subject != email.Subject || all[0].HTML != email.HTML ||
			all[1].Channel != "sms" || all[1].Version != 2 {
			t.Errorf("ListTemplates (current of each, by kind, channel, locale): %+v", all)
		}
	})
}

// TestPutTemplateConcurrent: saves racing for the same template get
// distinct, consecutive versions, inside a caller's transaction too.
func TestPutTemplateConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		const n = 8
		var wg sync.WaitGroup
		versions := make([]int, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tp := &hub.PracticeTemplate{PracticeID: pr.ID, Kind: "notice", Channel: "sms", Locale: "en-NZ",
					Body: fmt.Sprintf("wording %d {{.Text}}", i)}
				put := func(st *store.Store) error { return st.PutTemplate(ctx, tp) }
				if i%2 == 0 { // half join a transaction that writes something else first
					errs[i] = s.Tx(ctx, func(tx *store.Store) error {
						if err := tx.AddAudit(ctx, &hub.AuditEvent{ID: hub.NewID(hub.PrefixAudit), PracticeID: pr.ID,
							Actor: "test", Action: "template.put", At: ts(0)}); err != nil {
							return err
						}
						return put(tx)
					})
				} else {
					errs[i] = put(s)
				}
				versions[i] = tp.Version
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("save %d: %v", i, err)
			}
		}
		sort.Ints(versions)
		for i, v := range versions {
			if v != i+1 {
				t.Fatalf("versions = %v; want 1..%d", versions, n)
			}
		}
		vs, err := s.ListTemplateVersions(ctx, pr.ID, "notice", "sms", "en-NZ", 0)
		if err != nil || len(vs) != n || vs[0].Version != n {
			t.Errorf("stored versions: %d rows, %v", len(vs), err)
		}
	})
}

// TestPutTemplateRolledBack: a save whose transaction fails leaves no
// version behind, and the next save reuses the number.
func TestPutTemplateRolledBack(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		boom := fmt.Errorf("boom")
		err := s.Tx(ctx, func(tx *store.Store) error {
			mustTemplate(t, tx, pr.ID, "notice", "portal", "en-NZ", "{{.Text}}")
			return boom
		})
		wantErr(t, "Tx", err, boom)
		if v := mustTemplate(t, s, pr.ID, "notice", "portal", "en-NZ", "{{.Text}}"); v.Version != 1 {
			t.Errorf("version after a rolled-back save = %d, want 1", v.Version)
		}
	})
}

func TestTemplateTenancy(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, b := mustPractice(t, s, "Kauri Health"), mustPractice(t, s, "Rimu Medical")
		mustTemplate(t, s, a.ID, "notice", "sms", "en-NZ", "A: {{.Text}}")
		mustTemplate(t, s, a.ID, "notice", "sms", "en-NZ", "A2: {{.Text}}")
		if _, err := s.CurrentTemplate(ctx, b.ID, "notice", "sms", "en-NZ"); err == nil {
			t.Error("practice B reads A's template")
		}
		if vs, err := s.ListTemplateVersions(ctx, b.ID, "notice", "sms", "en-NZ", 0); err != nil || len(vs) != 0 {
			t.Errorf("practice B lists A's versions: %+v, %v", vs, err)
		}
		if all, err := s.ListTemplates(ctx, b.ID); err != nil || len(all) != 0 {
			t.Errorf("practice B lists A's templates: %+v, %v", all, err)
		}
		// B's first save is its own version 1.
		if v := mustTemplate(t, s, b.ID, "notice", "sms", "en-NZ", "B: {{.Text}}"); v.Version != 1 {
			t.Errorf("B's first version = %d, want 1", v.Version)
		}
		if _, err := s.ListTemplates(ctx, ""); err == nil {
			t.Error("ListTemplates without a practice: want an error")
		}
	})
}

func TestDeliveryTemplateVersion(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		d := mustDelivery(t, s, mustNotice(t, s, mustPatient(t, s, pr.ID, "P1")), hub.ChannelSMS, ts(0))
		if got, err := s.GetDelivery(ctx, pr.ID, d.ID); err != nil || got.TemplateVersion != 0 {
			t.Fatalf("new delivery: template version %v, %v; want 0", got, err)
		}
		if err := s.SetDeliveryTemplateVersion(ctx, d.ID, 3); err != nil {
			t.Fatal(err)
		}
		// UpdateDelivery leaves it alone.
		d.State = hub.StateSent
		if err := s.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetDelivery(ctx, "", d.ID)
		if err != nil || got.TemplateVersion != 3 || got.State != hub.StateSent {
			t.Errorf("after SetDeliveryTemplateVersion 3: %+v, %v", got, err)
		}
		ds, err := s.ListDeliveries(ctx, hub.DeliveryFilter{PracticeID: pr.ID})
		if err != nil || len(ds) != 1 || ds[0].TemplateVersion != 3 {
			t.Errorf("ListDeliveries: %+v, %v", ds, err)
		}
		wantErr(t, "unknown delivery", s.SetDeliveryTemplateVersion(ctx, "dlv_nope", 1), hub.ErrNoRows)
	})
}
