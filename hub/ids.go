package hub

import (
	"crypto/rand"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// NewID returns a new id with a type prefix, e.g. "dlv_01jd...". Ids sort
// in creation order.
func NewID(prefix string) string {
	id := ulid.MustNew(ulid.Timestamp(time.Now()), rand.Reader)
	return prefix + "_" + strings.ToLower(id.String())
}

// Id prefixes.
const (
	PrefixPractice = "prc"
	PrefixKey      = "key"
	PrefixStaff    = "stf"
	PrefixPatient  = "pat"
	PrefixNotice   = "ntc"
	PrefixDelivery = "dlv"
	PrefixInbox    = "inb"
	PrefixOutbox   = "out"
	PrefixAudit    = "aud"
	PrefixThread   = "thr"
	PrefixMessage  = "msg"
)
