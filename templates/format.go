package templates

import (
	"fmt"
	"strings"
	"time"
)

var (
	enWeekdays = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	enMonths   = [12]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}

	// Te reo Māori names. There are no settled short forms, so the short
	// formats use the full names too.
	miWeekdays = [7]string{"Rātapu", "Rāhina", "Rātū", "Rāapa", "Rāpare", "Rāmere", "Rāhoroi"}
	miMonths   = [12]string{"Kohitātea", "Huitanguru", "Poutūterangi", "Paengawhāwhā", "Haratua",
		"Pipiri", "Hōngongoi", "Hereturikōkā", "Mahuru", "Whiringa-ā-nuku", "Whiringa-ā-rangi", "Hakihea"}
)

// isMaori reports whether locale is te reo Māori (mi, mi-NZ, any case).
func isMaori(locale string) bool {
	return len(locale) >= 2 && strings.EqualFold(locale[:2], "mi") &&
		(len(locale) == 2 || locale[2] == '-' || locale[2] == '_')
}

// in converts t to loc; a nil loc keeps t's own location.
func in(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		return t
	}
	return t.In(loc)
}

// FormatTime formats an appointment's start as it appears in a short message,
// in loc (the practice's time zone; nil keeps t's location): "Thu 4 Dec 10:30"
// for en-NZ, "Rāpare 4 Hakihea 10:30" for mi-NZ. Times use the 24-hour clock.
// Locales other than mi* are formatted in New Zealand English.
func FormatTime(t time.Time, loc *time.Location, locale string) string {
	t = in(t, loc)
	if isMaori(locale) {
		return fmt.Sprintf("%s %d %s %02d:%02d", miWeekdays[t.Weekday()], t.Day(), miMonths[t.Month()-1], t.Hour(), t.Minute())
	}
	return fmt.Sprintf("%s %d %s %02d:%02d", enWeekdays[t.Weekday()][:3], t.Day(), enMonths[t.Month()-1][:3], t.Hour(), t.Minute())
}

// FormatDate formats a calendar date in full, in loc (nil keeps t's
// location): "Thursday 4 December 2025" for en-NZ, "Rāpare 4 Hakihea 2025"
// for mi-NZ. Locales other than mi* are formatted in New Zealand English.
func FormatDate(t time.Time, loc *time.Location, locale string) string {
	t = in(t, loc)
	if isMaori(locale) {
		return fmt.Sprintf("%s %d %s %d", miWeekdays[t.Weekday()], t.Day(), miMonths[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%s %d %s %d", enWeekdays[t.Weekday()], t.Day(), enMonths[t.Month()-1], t.Year())
}
