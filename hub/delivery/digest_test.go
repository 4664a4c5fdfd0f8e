package delivery_test

import (
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/internal/hubtest"
)

// TestDigest: three notices inside the practice's digest window reach the
// patient as one SMS listing all three; each delivery ends sent with the
// same provider id. A notice after the window goes on its own.
func TestDigest(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			h := startShort(t, backend)
			h.MustDo(200, "PUT", "/v1/settings/reminders", map[string]any{"digest_window": "3s"})
			h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha", "phone": "021 123 4567",
				"channels": []string{"sms", "portal"}})
			var ids []string
			for _, text := range []string{"Flu vaccines are in.", "The practice is closed on Monday.", "Your results are in the portal."} {
				var out struct{ Deliveries []struct{ ID string } }
				h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": text}).JSON(t, &out)
				ids = append(ids, out.Deliveries[0].ID)
			}
			type delivery struct {
				State      string
				ProviderID *string `json:"provider_id"`
			}
			var ds []delivery
			hubtest.WaitFor(t, 20*time.Second, "all three sent", func() bool {
				ds = ds[:0]
				for _, id := range ids {
					var d delivery
					h.MustDo(200, "GET", "/v1/deliveries/"+id, nil).JSON(t, &d)
					ds = append(ds, d)
				}
				return ds[0].State == "sent" && ds[1].State == "sent" && ds[2].State == "sent"
			})
			if *ds[0].ProviderID != *ds[1].ProviderID || *ds[1].ProviderID != *ds[2].ProviderID {
				t.Errorf("deliveries sent in different messages: %+v", ds)
			}
			var ob struct{ Items []struct{ Text string } }
			h.MustDo(200, "GET", "/v1/outbox", nil).JSON(t, &ob)
			if len(ob.Items) != 1 {
				t.Fatalf("%d messages sent, want one digest: %+v", len(ob.Items), ob.Items)
			}
			for _, want := range []string{"Flu vaccines are in.", "closed on Monday", "results are in the portal"} {
				if !strings.Contains(ob.Items[0].Text, want) {
					t.Errorf("digest %q lacks %q", ob.Items[0].Text, want)
				}
			}
			// After the window: a new message of its own.
			var out struct{ Deliveries []struct{ ID string } }
			h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": "Later notice"}).JSON(t, &out)
			hubtest.WaitFor(t, 20*time.Second, "later notice sent", func() bool {
				var d delivery
				h.MustDo(200, "GET", "/v1/deliveries/"+out.Deliveries[0].ID, nil).JSON(t, &d)
				return d.State == "sent"
			})
			h.MustDo(200, "GET", "/v1/outbox", nil).JSON(t, &ob)
			if len(ob.Items) != 2 || ob.Items[0].Text != "Later notice" {
				t.Errorf("outbox after the window: %+v", ob.Items)
			}
		})
	}
}
