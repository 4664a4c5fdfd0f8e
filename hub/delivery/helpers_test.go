package delivery_test

import (
	"testing"
	"time"

	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

// startShort starts a hub on backend whose settings accept windows and
// delays of seconds, so digests and escalations run within a test.
func startShort(t *testing.T, backend string) *hubtest.Hub {
	return hubtest.Start(t, hubtest.Options{Backend: backend, RedisDB: testenv.RedisDBHub,
		Configure: func(c *app.Config) { c.MinReminderOffset = time.Second }})
}
