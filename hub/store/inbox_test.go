package store_test

import (
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func TestInbox(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pr := mustPractice(t, s, "Kauri Health")
		pat := mustPatient(t, s, pr.ID, "A")
		n := mustNotice(t, s, pat)
		d1 := mustDelivery(t, s, n, hub.ChannelPortal, ts(0))
		d2 := mustDelivery(t, s, n, hub.ChannelPortal, ts(0))

		first := &hub.InboxItem{PracticeID: pr.ID, PatientID: pat.ID, DeliveryID: d1.ID, Kind: "result",
			Text: "Your results are in.", ThreadID: "thr_1", Created: ts(0)}
		second := &hub.InboxItem{PracticeID: pr.ID, PatientID: pat.ID, DeliveryID: d2.ID, Kind: "recall",
			Text: "Time for your check-up.", Created: ts(time.Minute)}
		// A retried portal send of d1, and an item carried by no delivery.
		retry := &hub.InboxItem{PracticeID: pr.ID, PatientID: pat.ID, DeliveryID: d1.ID, Kind: "result",
			Text: "again", Created: ts(2 * time.Minute)}
		loose1 := &hub.InboxItem{PracticeID: pr.ID, PatientID: pat.ID, Text: "a", Created: ts(-2 * time.Minute)}
		loose2 := &hub.InboxItem{PracticeID: pr.ID, PatientID: pat.ID, Text: "b", Created: ts(-time.Minute)}
		for _, it := range []*hub.InboxItem{first, second, retry, loose1, loose2} {
			if err := s.PutInboxItem(ctx, it); err != nil {
				t.Fatalf("PutInboxItem(%q): %v", it.Text, err)
			}
		}
		got, err := s.ListInbox(ctx, pr.ID, pat.ID, 0)
		if err != nil {
			t.Fatalf("ListInbox: %v", err)
		}
		wantEqual(t, "inbox", got, []hub.InboxItem{*second, *first, *loose2, *loose1})

		readAt := ts(time.Hour)
		if err := s.MarkInboxRead(ctx, pr.ID, pat.ID, first.ID, readAt); err != nil {
			t.Fatalf("MarkInboxRead: %v", err)
		}
		// A second read keeps the first time.
		if err := s.MarkInboxRead(ctx, pr.ID, pat.ID, first.ID, readAt.Add(time.Hour)); err != nil {
			t.Fatalf("MarkInboxRead again: %v", err)
		}
		got, err = s.ListInbox(ctx, pr.ID, pat.ID, 1)
		if err != nil || len(got) != 1 || got[0].ID != second.ID {
			t.Fatalf("ListInbox(limit 1) = %+v, %v", got, err)
		}
		got, _ = s.ListInbox(ctx, pr.ID, pat.ID, 2)
		if r := got[1].ReadAt; r == nil || !r.Equal(us(readAt)) {
			t.Errorf("ReadAt = %v, want %v", r, us(readAt))
		}
		wantErr(t, "MarkInboxRead missing", s.MarkInboxRead(ctx, pr.ID, pat.ID, "inb_missing", readAt), hub.ErrNoRows)
	})
}

func TestOutbox(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pa, pb := mustPractice(t, s, "Kauri Health"), mustPractice(t, s, "Rimu Medical")
		a := &hub.OutboxItem{PracticeID: pa.ID, DeliveryID: "dlv_a", Channel: hub.ChannelSMS, To: "+64211234567",
			Text: "hello", Created: ts(0)}
		b := &hub.OutboxItem{PracticeID: pb.ID, DeliveryID: "dlv_b", Channel: hub.ChannelEmail, To: "x@example.org",
			Subject: "Results", Text: "hi", Created: ts(time.Minute)}
		dup := &hub.OutboxItem{PracticeID: pa.ID, DeliveryID: "dlv_a", Channel: hub.ChannelSMS, Text: "dup", Created: ts(time.Hour)}
		for _, it := range []*hub.OutboxItem{a, b, dup} {
			if err := s.PutOutboxItem(ctx, it); err != nil {
				t.Fatalf("PutOutboxItem: %v", err)
			}
		}
		tests := []struct {
			name       string
			practiceID string
			want       []hub.OutboxItem
		}{
			{"practice a", pa.ID, []hub.OutboxItem{*a}},
			{"practice b", pb.ID, []hub.OutboxItem{*b}},
			{"all", "", []hub.OutboxItem{*b, *a}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListOutbox(ctx, tt.practiceID, 0)
				if err != nil {
					t.Fatal(err)
				}
				wantEqual(t, "outbox", got, tt.want)
			})
		}
	})
}
