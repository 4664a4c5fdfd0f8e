package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func TestNotices(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		n := mustNotice(t, s, mustPatient(t, s, pr.ID, "A"))
		got, err := s.GetNotice(ctx, pr.ID, n.ID)
		if err != nil {
			t.Fatalf("GetNotice: %v", err)
		}
		wantEqual(t, "notice", *got, *n)
		_, err = s.GetNotice(ctx, pr.ID, "ntc_missing")
		wantErr(t, "GetNotice missing", err, hub.ErrNoRows)
	})
}

func TestDeliveries(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		n := mustNotice(t, s, mustPatient(t, s, pr.ID, "A"))
		d := &hub.Delivery{PracticeID: pr.ID, PatientID: n.PatientID, NoticeID: n.ID, Channel: hub.ChannelSMS,
			Kind: "result", Mode: hub.ModeLive, Fallbacks: []string{hub.ChannelEmail, hub.ChannelPortal},
			NotBefore: ts(time.Hour), Created: ts(0)}
		if err := s.CreateDelivery(ctx, d); err != nil {
			t.Fatalf("CreateDelivery: %v", err)
		}
		if d.State != hub.StatePending || d.Updated != d.Created {
			t.Errorf("CreateDelivery defaults: State %q, Updated %v", d.State, d.Updated)
		}
		want := *d
		want.NotBefore = us(d.NotBefore)
		for _, practiceID := range []string{pr.ID, ""} {
			got, err := s.GetDelivery(ctx, practiceID, d.ID)
			if err != nil {
				t.Fatalf("GetDelivery(%q): %v", practiceID, err)
			}
			wantEqual(t, "delivery", *got, want)
		}

		// Update every writable field, then back to zero values.
		upd := want
		upd.State, upd.Attempts, upd.ProviderID, upd.LastError = hub.StateSent, 2, "SM123", "timeout"
		upd.Fallbacks, upd.NotBefore, upd.Updated = []string{hub.ChannelPortal}, time.Time{}, us(ts(time.Minute))
		upd.Channel = "ignored" // not written
		if err := s.UpdateDelivery(ctx, &upd); err != nil {
			t.Fatalf("UpdateDelivery: %v", err)
		}
		got, err := s.GetDelivery(ctx, pr.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		upd.Channel = hub.ChannelSMS
		wantEqual(t, "updated delivery", *got, upd)

		byProvider, err := s.FindDeliveryByProviderID(ctx, hub.ChannelSMS, "SM123")
		if err != nil || byProvider.ID != d.ID {
			t.Fatalf("FindDeliveryByProviderID = %v, %v", byProvider, err)
		}
		for _, tt := range []struct{ name, channel, id string }{
			{"other channel", hub.ChannelEmail, "SM123"},
			{"unknown id", hub.ChannelSMS, "SM999"},
			{"empty id", hub.ChannelSMS, ""},
		} {
			_, err := s.FindDeliveryByProviderID(ctx, tt.channel, tt.id)
			wantErr(t, "FindDeliveryByProviderID "+tt.name, err, hub.ErrNoRows)
		}

		missing := upd
		missing.ID = "dlv_missing"
		wantErr(t, "UpdateDelivery missing", s.UpdateDelivery(ctx, &missing), hub.ErrNoRows)
		_, err = s.GetDelivery(ctx, "", "dlv_missing")
		wantErr(t, "GetDelivery missing", err, hub.ErrNoRows)
	})
}

func TestListDeliveries(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		pa, pb := mustPatient(t, s, pr.ID, "A"), mustPatient(t, s, pr.ID, "B")
		na, nb := mustNotice(t, s, pa), mustNotice(t, s, pb)
		var all, ofA []string
		for i := range 6 {
			n := na
			if i%3 == 2 {
				n = nb
			}
			d := mustDelivery(t, s, n, hub.ChannelPortal, ts(0))
			if i == 0 {
				d.State = hub.StateDelivered
				if err := s.UpdateDelivery(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			all = append(all, d.ID)
			if n == na {
				ofA = append(ofA, d.ID)
			}
		}
		// Newest first is descending id order.
		slices.Sort(all)
		slices.Reverse(all)
		slices.Sort(ofA)
		slices.Reverse(ofA)
		ids := func(ds []hub.Delivery) []string {
			var out []string
			for _, d := range ds {
				out = append(out, d.ID)
			}
			return out
		}
		tests := []struct {
			name   string
			filter hub.DeliveryFilter
			want   []string
		}{
			{"all", hub.DeliveryFilter{PracticeID: pr.ID}, all},
			{"patient", hub.DeliveryFilter{PracticeID: pr.ID, PatientID: pa.ID}, ofA},
			{"notice", hub.DeliveryFilter{PracticeID: pr.ID, NoticeID: na.ID}, ofA},
			{"limit", hub.DeliveryFilter{PracticeID: pr.ID, Limit: 2}, all[:2]},
			{"page", hub.DeliveryFilter{PracticeID: pr.ID, BeforeID: all[1], Limit: 3}, all[2:5]},
			{"state", hub.DeliveryFilter{PracticeID: pr.ID, State: hub.StateDelivered}, nil},
			{"other practice", hub.DeliveryFilter{PracticeID: "prc_other"}, nil},
		}
		// The delivered one is whichever was created first.
		for _, d := range all {
			got, _ := s.GetDelivery(ctx, pr.ID, d)
			if got.State == hub.StateDelivered {
				tests[5].want = []string{d}
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListDeliveries(ctx, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				wantEqual(t, "ids", ids(got), tt.want)
			})
		}
		if _, err := s.ListDeliveries(ctx, hub.DeliveryFilter{}); err == nil {
			t.Error("ListDeliveries without a practice succeeded")
		}

		counts, err := s.CountDeliveries(ctx)
		if err != nil {
			t.Fatalf("CountDeliveries: %v", err)
		}
		if counts[hub.StatePending] != 5 || counts[hub.StateDelivered] != 1 || counts[hub.StateFailed] != 0 || len(counts) != 7 {
			t.Errorf("CountDeliveries = %v", counts)
		}
	})
}

func TestListDeliveriesLimit(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		n := mustNotice(t, s, mustPatient(t, s, pr.ID, "A"))
		err := s.Tx(ctx, func(tx *store.Store) error {
			for range store.MaxLimit + 1 {
				mustDelivery(t, tx, n, hub.ChannelSMS, ts(0))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			limit int
			want  int
		}{
			{"default", 0, store.DefaultLimit},
			{"negative", -1, store.DefaultLimit},
			{"asked", 7, 7},
			{"capped", 10000, store.MaxLimit},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListDeliveries(ctx, hub.DeliveryFilter{PracticeID: pr.ID, Limit: tt.limit})
				if err != nil || len(got) != tt.want {
					t.Fatalf("ListDeliveries(limit %d) = %d rows, %v; want %d", tt.limit, len(got), err, tt.want)
				}
			})
		}
	})
}

func TestListPendingDeliveries(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		cutoff := ts(0)
		pa, pb := mustPractice(t, s, "Kauri Health"), mustPractice(t, s, "Rimu Medical")
		na := mustNotice(t, s, mustPatient(t, s, pa.ID, "A"))
		nb := mustNotice(t, s, mustPatient(t, s, pb.ID, "A"))
		var want []string
		for i := range 7 {
			n := na
			if i%2 == 1 {
				n = nb // the sweeper sees every practice
			}
			want = append(want, mustDelivery(t, s, n, hub.ChannelSMS, cutoff.Add(-time.Duration(i+1)*time.Minute)).ID)
		}
		mustDelivery(t, s, na, hub.ChannelSMS, cutoff)                // not before the cutoff
		mustDelivery(t, s, na, hub.ChannelSMS, cutoff.Add(time.Hour)) // recent
		sent := mustDelivery(t, s, na, hub.ChannelSMS, cutoff.Add(-time.Hour))
		sent.State = hub.StateSent
		if err := s.UpdateDelivery(ctx, sent); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)

		var got []string
		var pages []int
		after := ""
		for {
			page, err := s.ListPendingDeliveries(ctx, cutoff, after, 3)
			if err != nil {
				t.Fatalf("ListPendingDeliveries: %v", err)
			}
			if len(page) == 0 {
				break
			}
			pages = append(pages, len(page))
			for _, d := range page {
				if d.State != hub.StatePending {
					t.Errorf("delivery %s is %s", d.ID, d.State)
				}
				got = append(got, d.ID)
			}
			after = page[len(page)-1].ID
		}
		wantEqual(t, "pending ids", got, want)
		wantEqual(t, "page sizes", pages, []int{3, 3, 1})
	})
}
