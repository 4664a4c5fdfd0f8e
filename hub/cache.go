package hub

import (
	"context"
	"sync"
	"time"
)

// cacheTTL bounds how stale a cached practice or API key may be. Both
// change rarely (a practice renamed, a key added); a key revoked directly
// in the database stops working within this time.
const cacheTTL = 30 * time.Second

// ttlCache is a small read-through cache for records that are read on every
// request or send and change rarely. It keeps nothing another process
// needs: a miss reads the database.
type ttlCache[V any] struct {
	ttl time.Duration // 0: cacheTTL
	mu  sync.Mutex
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(key string, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]ttlEntry[V]{} // bounded: start over rather than grow
	}
	ttl := c.ttl
	if ttl == 0 {
		ttl = cacheTTL
	}
	c.m[key] = ttlEntry[V]{v: v, expires: now.Add(ttl)}
}

func (c *ttlCache[V]) del(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// settingsTTL: settings written by another process reach this one within
// this time (this process's own writes at once).
const settingsTTL = 5 * time.Second

// practice reads a practice through the cache.
func (s *Service) practice(ctx context.Context, id string) (*Practice, error) {
	now := time.Now()
	if p, ok := s.practices.get(id, now); ok {
		return p, nil
	}
	p, err := s.st(ctx).GetPractice(ctx, id)
	if err != nil {
		return nil, err
	}
	s.practices.put(id, p, now)
	return p, nil
}
