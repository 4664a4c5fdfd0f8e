// Package throttle counts sign-in attempts in Redis for hub/identity
// (identity.Attempts), so that every hubd process sharing the Redis sees
// the same counts: a guesser gains nothing by spreading attempts over
// processes.
//
// Each Count is one Lua script, atomic in Redis: it reads every counter,
// refuses when one says wait, and otherwise counts on all of them, so
// parallel attempts cannot slip past a limit between a read and a write.
// A counter is a field of a Redis hash ("karere:signin:" + key) holding
// "count:last:next:prev" in milliseconds of the caller's clock (the
// caller's, not Redis's: tests move it); keys carry a TTL of the longest
// quiet period of their fields, so they vanish by themselves.
//
// The scripts touch several keys, so they need one Redis (or Sentinel),
// not Redis Cluster, which Karere does not use.
package throttle

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/karerehub/karere/hub/identity"
)

// Prefix starts every key this package writes.
const Prefix = "karere:signin:"

// Redis counts attempts in Redis.
type Redis struct {
	rdb redis.UniversalClient
}

var _ identity.Attempts = (*Redis)(nil)

// New returns counters on rdb.
func New(rdb redis.UniversalClient) *Redis { return &Redis{rdb: rdb} }

// countScript: KEYS are the counters' hashes; ARGV[1] is now (ms), then
// five values per counter: field, free, first wait, max wait, forget (ms).
// It returns 0 after counting, or the longest wait (ms) without counting.
var countScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local cur = {}
local wait = 0
for i = 1, #KEYS do
  local o = 2 + (i - 1) * 5
  local forget = tonumber(ARGV[o + 4])
  local n, nxt = 0, 0
  local v = redis.call('HGET', KEYS[i], ARGV[o])
  if v then
    local a, b, c = string.match(v, '^(%d+):(%d+):(%d+)')
    if a and now - tonumber(b) < forget then
      n, nxt = tonumber(a), tonumber(c)
    end
  end
  if nxt - now > wait then wait = nxt - now end
  cur[i] = {n, nxt}
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  local o = 2 + (i - 1) * 5
  local free, first, max, forget = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4])
  local n = cur[i][1] + 1
  local nxt = 0
  if n >= free then
    local d = first
    local k = free
    while k < n and d < max do d = d * 2; k = k + 1 end
    if d > max then d = max end
    nxt = now + d
  end
  redis.call('HSET', KEYS[i], ARGV[o], string.format('%.0f:%.0f:%.0f:%.0f', n, now, nxt, cur[i][2]))
  if redis.call('PTTL', KEYS[i]) < forget then redis.call('PEXPIRE', KEYS[i], forget) end
end
return 0
`)

// settleScript: KEYS are the counters' hashes; two values per counter in
// ARGV: field and "clear" or "undo". Undo takes one attempt off and puts
// back the wait before it.
var settleScript = redis.NewScript(`
for i = 1, #KEYS do
  local field, how = ARGV[2 * i - 1], ARGV[2 * i]
  if how == 'clear' then
    redis.call('HDEL', KEYS[i], field)
  else
    local v = redis.call('HGET', KEYS[i], field)
    if v then
      local a, b, c, d = string.match(v, '^(%d+):(%d+):(%d+):(%d+)$')
      if a and tonumber(a) > 1 then
        redis.call('HSET', KEYS[i], field, string.format('%.0f:%s:%s:%s', tonumber(a) - 1, b, d, d))
      else
        redis.call('HDEL', KEYS[i], field)
      end
    end
  end
end
return 0
`)

func ms(d time.Duration) int64 { return d.Milliseconds() }

// Count implements identity.Attempts.
func (r *Redis) Count(ctx context.Context, now time.Time, cs []identity.Counter) (time.Duration, error) {
	keys := make([]string, len(cs))
	args := make([]any, 0, 1+5*len(cs))
	args = append(args, now.UnixMilli())
	for i, c := range cs {
		keys[i] = Prefix + c.Key
		args = append(args, c.Field, c.Free, ms(c.FirstWait), ms(c.MaxWait), ms(c.Forget))
	}
	wait, err := countScript.Run(ctx, r.rdb, keys, args...).Int64()
	if err != nil {
		return 0, err
	}
	return time.Duration(wait) * time.Millisecond, nil
}

// Settle implements identity.Attempts.
func (r *Redis) Settle(ctx context.Context, cs []identity.Counter) error {
	keys := make([]string, len(cs))
	args := make([]any, 0, 2*len(cs))
	for i, c := range cs {
		keys[i] = Prefix + c.Key
		how := "undo"
		if c.Clear {
			how = "clear"
		}
		args = append(args, c.Field, how)
	}
	return settleScript.Run(ctx, r.rdb, keys, args...).Err()
}

// Forget implements identity.Attempts.
func (r *Redis) Forget(ctx context.Context, keys ...string) error {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = Prefix + k
	}
	return r.rdb.Del(ctx, full...).Err()
}

// Mark implements identity.Attempts.
func (r *Redis) Mark(ctx context.Context, key, field string, now time.Time, keep time.Duration) error {
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, Prefix+key, field, now.UnixMilli())
		p.PExpire(ctx, Prefix+key, keep)
		return nil
	})
	return err
}

// Marked implements identity.Attempts.
func (r *Redis) Marked(ctx context.Context, key, field string, now time.Time, within time.Duration) (bool, error) {
	v, err := r.rdb.HGet(ctx, Prefix+key, field).Result()
	if err == redis.Nil {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	at, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false, nil
	}
	return now.Sub(time.UnixMilli(at)) < within, nil
}
