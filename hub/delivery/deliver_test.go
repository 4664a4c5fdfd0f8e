package delivery_test

import (
	"errors"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/channeltest"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

type deliveryView struct {
	ID         string
	Channel    string
	State      string
	Attempts   int
	ProviderID *string `json:"provider_id"`
	LastError  *string `json:"last_error"`
	Notice     string
}

// startWithSMS starts a hub whose SMS channel is ch.
func startWithSMS(t *testing.T, ch *channeltest.Channel) *hubtest.Hub {
	return hubtest.Start(t, hubtest.Options{Backend: hubtest.SQLite, RedisDB: testenv.RedisDBHub,
		Configure: func(c *app.Config) {
			c.WrapChannel = func(name string, orig hub.Channel) hub.Channel {
				if name == hub.ChannelSMS {
					return ch
				}
				return orig
			}
		}})
}

// TestDeliverRetriesTemporaryFailures: a channel that fails twice with
// temporary errors is called again with backoff; the delivery ends sent
// after the third attempt, and the patient gets the message once.
func TestDeliverRetriesTemporaryFailures(t *testing.T) {
	ch := &channeltest.Channel{}
	ch.FailNext(errors.New("connection reset"), errors.New("HTTP 503"))
	h := startWithSMS(t, ch)
	h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha", "phone": "021 123 4567",
		"channels": []string{"sms", "portal"}})
	var out struct{ Deliveries []struct{ ID string } }
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": "Your results are in."}).JSON(t, &out)
	var d deliveryView
	hubtest.WaitFor(t, 20*time.Second, "sent after two temporary failures", func() bool {
		h.MustDo(200, "GET", "/v1/deliveries/"+out.Deliveries[0].ID, nil).JSON(t, &d)
		return d.State == "sent"
	})
	if d.Attempts != 3 || d.LastError != nil || d.ProviderID == nil || *d.ProviderID != "test:"+d.ID {
		t.Errorf("delivery = %+v, want sent on attempt 3 with the channel's receipt", d)
	}
	if calls, sent := len(ch.Calls()), len(ch.Sent()); calls != 3 || sent != 1 {
		t.Errorf("channel called %d times, sent %d, want 3 and 1", calls, sent)
	}
	if m := ch.Sent()[0]; m.Text != "Your results are in." || m.To != "+64211234567" {
		t.Errorf("sent %q to %q", m.Text, m.To)
	}
}

// TestDeliverPermanentFailureFallsBack: a permanent failure is not
// retried: the delivery fails with the channel's reason and the next
// channel in the patient's order carries the notice.
func TestDeliverPermanentFailureFallsBack(t *testing.T) {
	ch := &channeltest.Channel{}
	ch.FailNext(hub.Permanentf("invalid_number", "not a mobile number"))
	h := startWithSMS(t, ch)
	h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha", "phone": "021 123 4567",
		"channels": []string{"sms", "portal"}})
	var out struct{ Deliveries []struct{ ID string } }
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": "Flu vaccines are in."}).JSON(t, &out)
	var list struct{ Deliveries []deliveryView }
	hubtest.WaitFor(t, 20*time.Second, "portal fallback sent", func() bool {
		h.MustDo(200, "GET", "/v1/deliveries?patient=p-1", nil).JSON(t, &list)
		return len(list.Deliveries) == 2 && list.Deliveries[0].State == "sent"
	})
	portal, sms := list.Deliveries[0], list.Deliveries[1]
	if portal.Channel != "portal" || sms.Channel != "sms" || sms.State != "failed" || sms.Attempts != 1 ||
		sms.LastError == nil || *sms.LastError != "invalid_number: not a mobile number" {
		t.Errorf("deliveries = %+v", list.Deliveries)
	}
	if n := len(ch.Calls()); n != 1 {
		t.Errorf("channel called %d times, want 1 (no retry)", n)
	}
}
