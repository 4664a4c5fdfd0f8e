package delivery_test

import (
	"testing"
	"time"

	"github.com/karerehub/karere/internal/hubtest"
)

// TestEscalation: a portal notice still unread after the practice's
// escalate_after goes to the patient's next channel; one read in time is
// not escalated, and its planned escalation shows as cancelled.
func TestEscalation(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			h := startShort(t, backend)
			h.MustDo(200, "PUT", "/v1/settings/reminders", map[string]any{"escalate_after": "1s"})
			h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha", "phone": "021 123 4567",
				"channels": []string{"portal", "sms"}})

			type delivery struct{ ID, Channel, State, Notice string }
			list := func() []delivery {
				var out struct{ Deliveries []delivery }
				h.MustDo(200, "GET", "/v1/deliveries?patient=p-1", nil).JSON(t, &out)
				return out.Deliveries
			}
			notice := func(text string) string {
				var out struct {
					NoticeID string `json:"notice_id"`
				}
				h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": text}).JSON(t, &out)
				return out.NoticeID
			}
			find := func(notice, channel string) *delivery {
				for _, d := range list() {
					if d.Notice == notice && d.Channel == channel {
						return &d
					}
				}
				return nil
			}

			// Unread: escalated to SMS.
			n1 := notice("Your flu vaccine is due.")
			hubtest.WaitFor(t, 15*time.Second, "escalation sent by SMS", func() bool {
				d := find(n1, "sms")
				return d != nil && d.State == "sent"
			})
			if d := find(n1, "portal"); d == nil || d.State != "sent" {
				t.Errorf("portal delivery: %+v", d)
			}

			// Read at once: the escalation is cancelled.
			n2 := notice("Your results are in the portal.")
			var inbox struct {
				Items []struct{ ID, Delivery, Text string }
			}
			hubtest.WaitFor(t, 10*time.Second, "portal item", func() bool {
				h.MustDo(200, "GET", "/v1/patients/p-1/inbox", nil).JSON(t, &inbox)
				return len(inbox.Items) == 2
			})
			h.MustDo(204, "POST", "/v1/patients/p-1/inbox/"+inbox.Items[0].ID+"/read", nil)
			d := find(n2, "sms")
			if d == nil || d.State != "cancelled" {
				t.Fatalf("escalation of a read item: %+v", d)
			}
			time.Sleep(1500 * time.Millisecond)
			if d := find(n2, "sms"); d.State != "cancelled" {
				t.Errorf("cancelled escalation went out: %+v", d)
			}
			var ob struct{ Items []struct{ Text string } }
			h.MustDo(200, "GET", "/v1/outbox", nil).JSON(t, &ob)
			if len(ob.Items) != 1 || ob.Items[0].Text != "Your flu vaccine is due." {
				t.Errorf("outbox (SMS stand-in): %+v", ob)
			}
		})
	}
}
