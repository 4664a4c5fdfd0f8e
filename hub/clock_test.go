package hub

import (
	"testing"
	"time"
)

func TestOffsetLabelAndClock(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"hours", 48 * time.Hour, "48h"},
		{"hours and minutes", 90 * time.Minute, "1h30m"},
		{"minutes", 15 * time.Minute, "15m"},
		{"seconds", 2 * time.Second, "2s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := OffsetLabel(tt.d); got != tt.want {
				t.Errorf("OffsetLabel(%s) = %q, want %q", tt.d, got, tt.want)
			}
			if d, err := time.ParseDuration(tt.want); err != nil || d != tt.d {
				t.Errorf("ParseDuration(%q) = %s, %v", tt.want, d, err)
			}
		})
	}
	for _, tt := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"evening", "20:00", true}, {"morning", "08:00", true}, {"midnight", "00:00", true}, {"last minute", "23:59", true},
		{"hour 24", "24:00", false}, {"minute 60", "08:60", false}, {"one digit", "8:00", false}, {"seconds", "08:00:00", false},
		{"sign", "+8:00", false}, {"empty", "", false},
	} {
		t.Run("clock "+tt.name, func(t *testing.T) {
			c, ok := ParseClock(tt.in)
			if ok != tt.ok || ok && c.String() != tt.in {
				t.Errorf("ParseClock(%q) = %v, %v", tt.in, c, ok)
			}
		})
	}
}
