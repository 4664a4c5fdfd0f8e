// Package outbox is the channel that keeps instead of sending. It takes
// every delivery made with a test API key, and stands in for SMS and email
// when no provider is configured (the embedded default), so a practice can
// build and try an integration without texting a real patient.
package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/karerehub/karere/hub"
)

// Store keeps outbox items (hub/store implements it).
type Store interface {
	// PutOutboxItem stores it; a second item for the same delivery is ignored.
	PutOutboxItem(ctx context.Context, it *hub.OutboxItem) error
}

// Channel is the outbox channel.
type Channel struct {
	store Store
	log   *slog.Logger // nil: silent
}

var _ hub.Channel = (*Channel)(nil)

// New returns an outbox. When log is not nil, each kept message is
// announced there (ids and channel only: never the text or the address).
func New(store Store, log *slog.Logger) *Channel { return &Channel{store: store, log: log} }

var _ hub.StoreChannel = (*Channel)(nil)

// SendInTx keeps m inside the transaction ctx carries (the one that
// records the delivery sent).
func (c *Channel) SendInTx(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	return c.Send(ctx, m)
}

// Send keeps m.
func (c *Channel) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	it := &hub.OutboxItem{
		ID:         hub.NewID(hub.PrefixOutbox),
		PracticeID: m.Delivery.PracticeID,
		DeliveryID: m.Delivery.ID,
		Channel:    m.Delivery.Channel,
		To:         m.To,
		Subject:    m.Subject,
		Text:       m.Text,
		Created:    time.Now().UTC(),
	}
	if err := c.store.PutOutboxItem(ctx, it); err != nil {
		return hub.Receipt{}, err
	}
	if c.log != nil {
		c.log.Info("outbox kept a message instead of sending it", "delivery", m.Delivery.ID, "channel", m.Delivery.Channel, "outbox_item", it.ID)
	}
	return hub.Receipt{ProviderID: "outbox:" + it.ID}, nil
}
