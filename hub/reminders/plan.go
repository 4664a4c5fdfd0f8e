package reminders

import (
	"cmp"
	"slices"
	"time"

	"github.com/karerehub/karere/hub"
)

// Reminder planning is pure: PlanReminders turns an appointment's start,
// the practice's ReminderPolicy and the current time into fire times, with
// no clock, store or queue involved, so that every rule below is table
// tested (reminders_plan_test.go).
//
// The rules, in order:
//
//  1. Whole days of an offset are calendar days in the practice's zone;
//     the rest is elapsed time. "48h before 09:00 Monday" is 09:00
//     Saturday even when daylight saving started or ended on the Sunday
//     in between (47 or 49 hours of elapsed time); "2h before" is two
//     elapsed hours. Days are counted with time.Date in the location,
//     never by adding 24 hours.
//  2. Quiet hours are wall-clock times in the practice's zone, the open
//     interval (Start, End): a reminder may go at exactly 20:00 or exactly
//     08:00 but not between. End before Start spans midnight (20:00-08:00);
//     Start equal to End means no quiet hours.
//  3. A fire time inside quiet hours moves to the nearer boundary of that
//     quiet period: the start that began it (20:00 the evening before or
//     that evening) or the end that closes it (08:00). A tie goes to the
//     earlier boundary. A boundary is usable only when it is after now and
//     before the appointment starts; when the nearer one is not, the other
//     is used, and when neither is, the reminder is dropped. (So a 2 h
//     reminder for a 07:30 appointment goes at 20:00 the evening before,
//     not at 08:00 after the appointment.)
//  4. A reminder whose fire time is not after now, or not before the
//     start, is dropped.
//  5. Reminders landing on the same instant are merged: the one with the
//     larger offset is kept.
//
// The result is ordered by fire time.

// ReminderPolicy is what PlanReminders needs of a practice's settings.
type ReminderPolicy struct {
	Offsets    []time.Duration
	QuietStart hub.Clock
	QuietEnd   hub.Clock // equal to QuietStart: no quiet hours
	Location   *time.Location
}

// PlannedReminder is one reminder PlanReminders kept.
type PlannedReminder struct {
	Offset time.Duration
	FireAt time.Time // in the policy's location
	// Shifted is true when quiet hours moved it from start - Offset.
	Shifted bool
}

// PlanReminders plans the reminders of an appointment starting at start,
// as of now (see the rules above).
func PlanReminders(start, now time.Time, p ReminderPolicy) []PlannedReminder {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	start = start.In(loc)
	offsets := slices.Clone(p.Offsets)
	slices.SortFunc(offsets, func(a, b time.Duration) int { return cmp.Compare(b, a) }) // largest first
	var out []PlannedReminder
	for _, off := range offsets {
		if off <= 0 {
			continue
		}
		fire := minusOffset(start, off)
		shifted := false
		if early, late, quiet := p.quietPeriod(fire); quiet {
			first, second := early, late
			if late.Sub(fire) < fire.Sub(early) {
				first, second = late, early
			}
			fire, shifted = time.Time{}, true
			for _, c := range []time.Time{first, second} {
				if c.After(now) && c.Before(start) {
					fire = c
					break
				}
			}
			if fire.IsZero() {
				continue
			}
		}
		if !fire.After(now) || !fire.Before(start) {
			continue
		}
		if slices.ContainsFunc(out, func(r PlannedReminder) bool { return r.FireAt.Equal(fire) }) {
			continue // a larger offset already fires then
		}
		out = append(out, PlannedReminder{Offset: off, FireAt: fire, Shifted: shifted})
	}
	slices.SortStableFunc(out, func(a, b PlannedReminder) int { return a.FireAt.Compare(b.FireAt) })
	return out
}

// minusOffset is start - off with off's whole days counted as calendar
// days in start's location.
func minusOffset(start time.Time, off time.Duration) time.Time {
	days := int(off / (24 * time.Hour))
	rest := off % (24 * time.Hour)
	y, m, d := start.Date()
	hh, mm, ss := start.Clock()
	t := time.Date(y, m, d-days, hh, mm, ss, start.Nanosecond(), start.Location())
	return t.Add(-rest)
}

// quietPeriod reports whether t (in the policy's zone) falls in quiet
// hours and, if so, the boundaries of the quiet period it falls in.
func (p ReminderPolicy) quietPeriod(t time.Time) (early, late time.Time, quiet bool) {
	if p.QuietStart == p.QuietEnd {
		return time.Time{}, time.Time{}, false
	}
	loc := t.Location()
	y, mo, d := t.Date()
	hh, mm, ss := t.Clock()
	wall := time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second +
		time.Duration(t.Nanosecond())
	qs := time.Duration(p.QuietStart) * time.Minute
	qe := time.Duration(p.QuietEnd) * time.Minute
	at := func(dayDelta int, c hub.Clock) time.Time {
		return time.Date(y, mo, d+dayDelta, int(c)/60, int(c)%60, 0, 0, loc)
	}
	if qs < qe { // within one day
		if wall > qs && wall < qe {
			return at(0, p.QuietStart), at(0, p.QuietEnd), true
		}
		return time.Time{}, time.Time{}, false
	}
	switch { // spans midnight
	case wall > qs:
		return at(0, p.QuietStart), at(1, p.QuietEnd), true
	case wall < qe:
		return at(-1, p.QuietStart), at(0, p.QuietEnd), true
	}
	return time.Time{}, time.Time{}, false
}
