package hub

import "sync"

// Event tells open inbox pages that something changed. Events carry ids,
// never content.
type Event struct {
	Type       string `json:"type"` // EventMessage, EventThread, EventDelivery
	PracticeID string `json:"-"`
	ThreadID   string `json:"thread,omitempty"`
	ID         string `json:"id,omitempty"`
}

// Event types.
const (
	EventMessage  = "message"
	EventThread   = "thread"
	EventDelivery = "delivery"
)

// Subscribe returns a channel of the practice's events and a function
// that ends the subscription. Slow subscribers miss events rather than
// slowing the hub (the page refreshes its list on each event anyway).
//
// Events are local to this process; with several API processes, a page
// sees the events of the process it is connected to plus its periodic
// refresh.
func (s *Service) Subscribe(practiceID string) (<-chan Event, func()) {
	ch := make(chan Event, 32)
	s.subsMu.Lock()
	if s.subs == nil {
		s.subs = map[string]map[chan Event]bool{}
	}
	if s.subs[practiceID] == nil {
		s.subs[practiceID] = map[chan Event]bool{}
	}
	s.subs[practiceID][ch] = true
	s.subsMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.subsMu.Lock()
			delete(s.subs[practiceID], ch)
			s.subsMu.Unlock()
		})
	}
}

func (s *Service) publish(e Event) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for ch := range s.subs[e.PracticeID] {
		select {
		case ch <- e:
		default:
		}
	}
}
