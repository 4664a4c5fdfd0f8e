// Package portal delivers to a patient's portal inbox: the item is stored
// and the portal backend lists it (GET /v1/patients/{id}/inbox). Storing is
// idempotent on the delivery id, so a retried task stores one item.
package portal

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

// Inbox is where portal items are kept (hub.Store satisfies it).
type Inbox interface {
	// PutInboxItem stores it; a second item for the same delivery is ignored.
	PutInboxItem(ctx context.Context, it *hub.InboxItem) error
}

// Notifier is told of new items, to push them to open inbox pages. Optional.
type Notifier interface {
	InboxItemAdded(practiceID, patientID, itemID string)
}

// Channel is the portal channel.
type Channel struct {
	inbox  Inbox
	notify Notifier
}

var _ hub.Channel = (*Channel)(nil)

// New returns the portal channel; notify may be nil.
func New(inbox Inbox, notify Notifier) *Channel { return &Channel{inbox: inbox, notify: notify} }

var _ hub.StoreChannel = (*Channel)(nil)

// SendInTx stores m in the patient's inbox inside the hub's transaction.
func (c *Channel) SendInTx(ctx context.Context, tx hub.Store, m *hub.Message) (hub.Receipt, error) {
	return c.send(ctx, tx, m)
}

// Send stores m in the patient's inbox.
func (c *Channel) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	return c.send(ctx, c.inbox, m)
}

func (c *Channel) send(ctx context.Context, inbox Inbox, m *hub.Message) (hub.Receipt, error) {
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
	if err := inbox.PutInboxItem(ctx, it); err != nil {
		return hub.Receipt{}, err
	}
	if c.notify != nil {
		c.notify.InboxItemAdded(it.PracticeID, it.PatientID, it.ID)
	}
	return hub.Receipt{ProviderID: "portal:" + m.Delivery.ID}, nil
}
