// Package events tells open pages that something changed: a staff inbox
// page refreshes its list when a message arrives or a thread changes.
// Events carry ids, never content. Bus fans them out inside one process;
// a page connected to another process sees its periodic refresh.
package events

import (
	"sync"

	"github.com/karerehub/karere/hub"
)

// Bus fans a practice's events out to the subscribers in this process.
// The zero value is ready to use; it is safe for concurrent use.
type Bus struct {
	mu   sync.Mutex
	subs map[string]map[chan hub.Event]bool
}

// Subscribe returns a channel of the practice's events and a function that
// ends the subscription. Slow subscribers miss events rather than slowing
// the hub (the page refreshes its list on each event anyway).
func (b *Bus) Subscribe(practiceID string) (<-chan hub.Event, func()) {
	ch := make(chan hub.Event, 32)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[string]map[chan hub.Event]bool{}
	}
	if b.subs[practiceID] == nil {
		b.subs[practiceID] = map[chan hub.Event]bool{}
	}
	b.subs[practiceID][ch] = true
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs[practiceID], ch)
			if len(b.subs[practiceID]) == 0 {
				delete(b.subs, practiceID)
			}
			b.mu.Unlock()
		})
	}
}

// Publish hands e to the practice's subscribers without waiting.
func (b *Bus) Publish(e hub.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[e.PracticeID] {
		select {
		case ch <- e:
		default:
		}
	}
}
