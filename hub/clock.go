package hub

import (
	"strconv"
	"time"
)

// Clock is a wall-clock time of day in minutes after midnight (0-1439).
type Clock int

// ParseClock reads "HH:MM" (24-hour).
func ParseClock(s string) (Clock, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || s[0] == '+' || s[3] == '+' {
		return 0, false
	}
	return Clock(h*60 + m), true
}

// String is "HH:MM".
func (c Clock) String() string {
	return twoDigits(int(c)/60) + ":" + twoDigits(int(c)%60)
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// OffsetLabel writes an offset compactly: "48h", "1h30m", "15m", "2s".
func OffsetLabel(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b []byte
	if h := d / time.Hour; h > 0 {
		b = strconv.AppendInt(b, int64(h), 10)
		b = append(b, 'h')
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b = strconv.AppendInt(b, int64(m), 10)
		b = append(b, 'm')
		d -= m * time.Minute
	}
	if s := d / time.Second; s > 0 {
		b = strconv.AppendInt(b, int64(s), 10)
		b = append(b, 's')
		d -= s * time.Second
	}
	if d > 0 {
		b = strconv.AppendInt(b, int64(d/time.Millisecond), 10)
		b = append(b, "ms"...)
	}
	return string(b)
}
