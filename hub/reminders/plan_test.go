package reminders

import (
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
)

func TestPlanReminders(t *testing.T) {
	nz, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, nz) }
	h := time.Hour
	type want struct {
		offset time.Duration
		fire   time.Time
	}
	tests := []struct {
		name       string
		start, now time.Time
		offsets    []time.Duration
		qs, qe     hub.Clock
		want       []want
	}{
		{
			name:  "DST start (27 Sep 2026): 48h before Monday 09:00 NZDT is Saturday 09:00 NZST, 47h earlier",
			start: at(2026, 9, 28, 9, 0), now: at(2026, 9, 20, 9, 0), offsets: []time.Duration{48 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{48 * h, time.Date(2026, 9, 26, 9, 0, 0, 0, time.FixedZone("NZST", 12*3600))}},
		},
		{
			name:  "DST end (5 Apr 2026): 48h before Monday 09:00 NZST is Saturday 09:00 NZDT, 49h earlier",
			start: at(2026, 4, 6, 9, 0), now: at(2026, 3, 30, 9, 0), offsets: []time.Duration{48 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{48 * h, time.Date(2026, 4, 4, 9, 0, 0, 0, time.FixedZone("NZDT", 13*3600))}},
		},
		{
			name:  "DST start: 26h is a calendar day then two elapsed hours",
			start: at(2026, 9, 28, 10, 0), now: at(2026, 9, 20, 9, 0), offsets: []time.Duration{26 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{26 * h, at(2026, 9, 27, 8, 0)}},
		},
		{
			name:  "DST start: a sub-day offset is elapsed time across the jump",
			start: at(2026, 9, 27, 3, 30), now: at(2026, 9, 20, 9, 0), offsets: []time.Duration{2 * h},
			qs: 0, qe: 0, // no quiet hours
			want: []want{{2 * h, time.Date(2026, 9, 27, 0, 30, 0, 0, time.FixedZone("NZST", 12*3600))}},
		},
		{
			name:  "DST start: an early-morning fire time moves to 08:00 NZDT",
			start: at(2026, 9, 27, 9, 0), now: at(2026, 9, 20, 9, 0), offsets: []time.Duration{4 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{4 * h, at(2026, 9, 27, 8, 0)}},
		},
		{
			name:  "defaults: 48h and 2h",
			start: at(2026, 11, 12, 10, 30), now: at(2026, 11, 1, 9, 0), offsets: hub.DefaultReminderOffsets,
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{48 * h, at(2026, 11, 10, 10, 30)}, {2 * h, at(2026, 11, 12, 8, 30)}},
		},
		{
			name:  "quiet evening: 21:30 moves back to 20:00, the nearer boundary",
			start: at(2026, 11, 10, 9, 0), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{11*h + 30*time.Minute},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{11*h + 30*time.Minute, at(2026, 11, 9, 20, 0)}},
		},
		{
			name:  "quiet morning: 06:00 moves forward to 08:00, the nearer boundary",
			start: at(2026, 11, 10, 10, 0), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{4 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{4 * h, at(2026, 11, 10, 8, 0)}},
		},
		{
			name:  "quiet morning: 08:00 would be after a 07:30 appointment, so 20:00 the evening before",
			start: at(2026, 11, 10, 7, 30), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{2 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{2 * h, at(2026, 11, 9, 20, 0)}},
		},
		{
			name:  "a tie (02:00, six hours each way) goes to the earlier boundary",
			start: at(2026, 11, 10, 9, 0), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{7 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{7 * h, at(2026, 11, 9, 20, 0)}},
		},
		{
			name:  "exactly 20:00 and exactly 08:00 are allowed",
			start: at(2026, 11, 10, 9, 0), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{13 * h, time.Hour},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{13 * h, at(2026, 11, 9, 20, 0)}, {time.Hour, at(2026, 11, 10, 8, 0)}},
		},
		{
			name:  "the earlier boundary is past: the later one is used",
			start: at(2026, 11, 10, 9, 0), now: at(2026, 11, 9, 20, 30), offsets: []time.Duration{7 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{7 * h, at(2026, 11, 10, 8, 0)}},
		},
		{
			name:  "both boundaries unusable: dropped",
			start: at(2026, 11, 10, 7, 30), now: at(2026, 11, 9, 21, 0), offsets: []time.Duration{2 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: nil,
		},
		{
			name:  "offsets already past are dropped",
			start: at(2026, 11, 10, 15, 0), now: at(2026, 11, 10, 9, 0), offsets: hub.DefaultReminderOffsets,
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{2 * h, at(2026, 11, 10, 13, 0)}},
		},
		{
			name:  "an appointment in the past has none",
			start: at(2026, 11, 10, 15, 0), now: at(2026, 11, 11, 9, 0), offsets: hub.DefaultReminderOffsets,
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: nil,
		},
		{
			name:  "two reminders shifted to the same 20:00 are merged, the larger offset kept",
			start: at(2026, 11, 10, 9, 0), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{12 * h, 13 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{13 * h, at(2026, 11, 9, 20, 0)}},
		},
		{
			name:  "custom offsets (3 days, 1h), any order, come out by fire time",
			start: at(2026, 11, 12, 14, 0), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{time.Hour, 72 * h},
			qs: hub.DefaultQuietStart, qe: hub.DefaultQuietEnd,
			want: []want{{72 * h, at(2026, 11, 9, 14, 0)}, {time.Hour, at(2026, 11, 12, 13, 0)}},
		},
		{
			name:  "quiet hours within one day (12:00-13:00)",
			start: at(2026, 11, 12, 14, 0), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{time.Hour + 20*time.Minute},
			qs: 12 * 60, qe: 13 * 60,
			want: []want{{time.Hour + 20*time.Minute, at(2026, 11, 12, 13, 0)}},
		},
		{
			name:  "no quiet hours (start = end): 03:00 stays",
			start: at(2026, 11, 12, 9, 0), now: at(2026, 11, 1, 9, 0), offsets: []time.Duration{6 * h},
			qs: 0, qe: 0,
			want: []want{{6 * h, at(2026, 11, 12, 3, 0)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanReminders(tt.start, tt.now, ReminderPolicy{Offsets: tt.offsets, QuietStart: tt.qs, QuietEnd: tt.qe, Location: nz})
			if len(got) != len(tt.want) {
				t.Fatalf("got %d reminders %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if got[i].Offset != w.offset || !got[i].FireAt.Equal(w.fire) {
					t.Errorf("reminder %d = %s at %s, want %s at %s", i, hub.OffsetLabel(got[i].Offset),
						got[i].FireAt.Format(time.RFC3339), hub.OffsetLabel(w.offset), w.fire.In(nz).Format(time.RFC3339))
				}
				// The wall clock of the expected time in the practice's zone.
				if got[i].FireAt.In(nz).Format("15:04 MST") != w.fire.In(nz).Format("15:04 MST") {
					t.Errorf("reminder %d wall clock %s, want %s", i, got[i].FireAt.In(nz).Format("15:04 MST"), w.fire.In(nz).Format("15:04 MST"))
				}
			}
		})
	}
}

func TestPlanRemindersDSTElapsed(t *testing.T) {
	nz, _ := time.LoadLocation("Pacific/Auckland")
	p := ReminderPolicy{Offsets: []time.Duration{48 * time.Hour}, QuietStart: hub.DefaultQuietStart, QuietEnd: hub.DefaultQuietEnd, Location: nz}
	for _, tt := range []struct {
		name    string
		start   time.Time
		elapsed time.Duration
	}{
		{"spring forward", time.Date(2026, 9, 28, 9, 0, 0, 0, nz), 47 * time.Hour},
		{"fall back", time.Date(2026, 4, 6, 9, 0, 0, 0, nz), 49 * time.Hour},
		{"no change", time.Date(2026, 11, 16, 9, 0, 0, 0, nz), 48 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanReminders(tt.start, tt.start.AddDate(0, 0, -10), p)
			if len(got) != 1 || tt.start.Sub(got[0].FireAt) != tt.elapsed {
				t.Fatalf("got %v; want one reminder %s before", got, tt.elapsed)
			}
		})
	}
}
