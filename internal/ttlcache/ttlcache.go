// Package ttlcache is a small read-through cache for records that are read
// on every request or send and change rarely (practices, API keys,
// settings, resolved templates). It keeps nothing another process needs:
// a miss reads the database, and an entry lives at most its TTL, so a
// change made by another process shows within that time. A process's own
// writes call Delete at once.
package ttlcache

import (
	"sync"
	"time"
)

// MaxEntries bounds a cache: past it, the cache starts over rather than
// grow (the entries are cheap to read again).
const MaxEntries = 10000

// Cache maps string keys to values for TTL. The zero value is not usable:
// set TTL. It is safe for concurrent use.
type Cache[V any] struct {
	TTL time.Duration

	mu sync.Mutex
	m  map[string]entry[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns a cache whose entries live ttl.
func New[V any](ttl time.Duration) *Cache[V] { return &Cache[V]{TTL: ttl} }

// Get returns the value for key if it has not expired at now.
func (c *Cache[V]) Get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v for key until now + TTL.
func (c *Cache[V]) Put(key string, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= MaxEntries {
		c.m = map[string]entry[V]{}
	}
	c.m[key] = entry[V]{v: v, expires: now.Add(c.TTL)}
}

// Delete forgets key.
func (c *Cache[V]) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// Clear forgets everything.
func (c *Cache[V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
