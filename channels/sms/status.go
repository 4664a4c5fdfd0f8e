package sms

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/karerehub/karere/hub"
)

// deadNumberCodes are delivery error codes that say the number itself
// cannot take SMS, so the hub should stop using it: 30005 unknown
// destination handset, 30006 landline or unreachable carrier. Others
// (30003 handset off, 30007 carrier filtering, 30008 unknown) can pass.
var deadNumberCodes = map[string]bool{"30005": true, "30006": true}

// StatusHandler serves POST StatusPath?practice=ID, Twilio's message status
// callback. Final states (delivered, undelivered, failed) go to
// Hub.DeliveryStatus; intermediate ones (queued, sending, sent, accepted...)
// are acknowledged and ignored. It answers 200 also for a message the hub
// does not know (hub.ErrNoRows), which Twilio could not mend by retrying.
func (w *Webhooks) StatusHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		req, ok := w.auth.authenticate(rw, r)
		if !ok {
			return
		}
		u, final := statusUpdate(req.form, w.now())
		if final {
			if u.ProviderID == "" {
				http.Error(rw, "MessageSid missing", http.StatusBadRequest)
				return
			}
			err := w.hub.DeliveryStatus(r.Context(), req.practiceID, u)
			if err != nil && !errors.Is(err, hub.ErrNoRows) {
				w.fail(rw, "DeliveryStatus", err)
				return
			}
		}
		rw.WriteHeader(http.StatusOK)
	})
}

// statusUpdate reads a status callback's form. final is false for states
// the hub does not record.
func statusUpdate(form url.Values, at time.Time) (u hub.StatusUpdate, final bool) {
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus") // older name, still sent
	}
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	u = hub.StatusUpdate{Channel: hub.ChannelSMS, ProviderID: sid, At: at}
	switch status {
	case "delivered":
		u.State = hub.StateDelivered
	case "undelivered":
		u.State = hub.StateUndelivered
	case "failed":
		u.State = hub.StateFailed
	default:
		return u, false
	}
	if u.State != hub.StateDelivered {
		u.ErrorCode = form.Get("ErrorCode")
		u.Permanent = deadNumberCodes[u.ErrorCode]
	}
	return u, true
}
