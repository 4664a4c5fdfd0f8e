package hub

import "time"

// SetMinReminderOffset lets end-to-end tests use offsets of seconds (the
// API refuses offsets below MinReminderOffset); 0 restores the minimum.
func SetMinReminderOffset(s *Service, d time.Duration) { s.rem.minOffset.Store(int64(d)) }
