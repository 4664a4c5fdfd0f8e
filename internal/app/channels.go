package app

import (
	"context"
	"errors"

	"github.com/karerehub/karere/hub"
)

// orOutbox sends through a provider channel, or keeps the message in the
// outbox when the practice has configured no provider for it (reason
// notConfigured), so a practice that only uses the portal loses nothing
// and can see what would have gone out.
type orOutbox struct {
	provider      hub.Channel
	outbox        hub.Channel
	notConfigured string
}

func (c orOutbox) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	r, err := c.provider.Send(ctx, m)
	var pe *hub.PermanentError
	if errors.As(err, &pe) && pe.Reason == c.notConfigured {
		return c.outbox.Send(ctx, m)
	}
	return r, err
}
