// Package channeltest is a hub.Channel for tests that fails on demand: it
// records every message it is given and answers each call with the next
// error queued (a receipt when none is), so a test can drive the delivery
// pipeline through temporary and permanent failures without a provider.
package channeltest

import (
	"context"
	"fmt"
	"sync"

	"github.com/karerehub/karere/hub"
)

// Channel is the failure-injecting channel. The zero value sends
// everything successfully. It is safe for concurrent use.
type Channel struct {
	mu    sync.Mutex
	errs  []error
	calls []hub.Message
	sent  []hub.Message
}

var _ hub.Channel = (*Channel)(nil)

// FailNext queues errors: the next calls return them in order (a nil
// entry succeeds), then calls succeed again.
func (c *Channel) FailNext(errs ...error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, errs...)
}

// Send records m and answers with the next queued error, or a receipt
// "test:<delivery id>".
func (c *Channel) Send(_ context.Context, m *hub.Message) (hub.Receipt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, *m)
	if len(c.errs) > 0 {
		err := c.errs[0]
		c.errs = c.errs[1:]
		if err != nil {
			return hub.Receipt{}, err
		}
	}
	c.sent = append(c.sent, *m)
	return hub.Receipt{ProviderID: fmt.Sprintf("test:%s", m.Delivery.ID)}, nil
}

// Calls are the messages of every call, failed or not, in order.
func (c *Channel) Calls() []hub.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]hub.Message(nil), c.calls...)
}

// Sent are the messages of the calls that succeeded, in order.
func (c *Channel) Sent() []hub.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]hub.Message(nil), c.sent...)
}
