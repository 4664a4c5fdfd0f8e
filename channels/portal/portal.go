// Package portal delivers to a patient's portal inbox: the item is stored
// and the portal backend lists it (GET /v1/patients/{id}/inbox). Storing is
// idempotent on the delivery id, so a retried task stores one item.
package portal

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

// Inbox is where portal items are kept (hub/store implements it).
type Inbox interface {
	// PutInboxItem stores it; a second item for the same delivery is ignored.
	PutInboxItem(ctx context.Context, it *hub.InboxItem) error
}

// Channel is the portal channel.
type Channel struct {
	inbox Inbox
}

var (
	_ hub.Channel      = (*Channel)(nil)
	_ hub.StoreChannel = (*Channel)(nil)
)

// New returns the portal channel.
func New(inbox Inbox) *Channel { return &Channel{inbox: inbox} }

// SendInTx stores m in the patient's inbox inside the transaction ctx
// carries (the one that records the delivery sent).
func (c *Channel) SendInTx(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	return c.Send(ctx, m)
}

// Send stores m in the patient's inbox.
func (c *Channel) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	it := &hub.InboxItem{
		ID:         hub.NewID(hub.PrefixInbox),
		PracticeID: m.Delivery.PracticeID,
		PatientID:  m.Delivery.PatientID,
		DeliveryID: m.Delivery.ID,
		Kind:       m.Delivery.Kind,
		Text:       m.Text,
		ThreadID:   m.ThreadID,
		Created:    time.Now().UTC(),
	}
	if err := c.inbox.PutInboxItem(ctx, it); err != nil {
		return hub.Receipt{}, err
	}
	return hub.Receipt{ProviderID: "portal:" + m.Delivery.ID}, nil
}
