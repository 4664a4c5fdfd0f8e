package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/hubtest"
)

// TestGuardianReceives: a child's notices go to the guardian and address
// them; an adult's guardian receives only as a proxy.
func TestGuardianReceives(t *testing.T) {
	h := start(t, hubtest.SQLite)
	key, err := h.App.Core().Directory.CreateAPIKey(context.Background(), h.Practice.ID, hub.ModeTest, "tests")
	if err != nil {
		t.Fatal(err)
	}
	child := time.Now().AddDate(-9, 0, 0).Format("2006-01-02")
	tests := []struct {
		name, dob string
		proxy     bool
		wantTo    string
		wantHello string
	}{
		{"child", child, false, "mere@example.nz", "Kia ora Mere"},
		{"adult with guardian on record", "1990-04-02", false, "tama@example.nz", "Kia ora Tama"},
		{"adult with a proxy", "1950-04-02", true, "mere@example.nz", "Kia ora Mere"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "p-g" + string(rune('0'+i))
			r := h.Do("PUT", "/v1/patients/"+id, key, map[string]any{"given_name": "Tama", "email": "tama@example.nz",
				"date_of_birth": tc.dob, "channels": []string{"email"},
				"guardian": map[string]any{"name": "Mere", "email": "mere@example.nz", "proxy": tc.proxy}})
			if r.Status != 201 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var out struct{ Deliveries []deliveryOut }
			h.Do("POST", "/v1/notices", key, map[string]any{"patient": id, "text": "Immunisation is due."}).JSON(t, &out)
			waitState(t, h, key, out.Deliveries[0].ID, "sent")
			var ob struct {
				Items []struct{ Delivery, To, Text string }
			}
			h.Do("GET", "/v1/outbox", key, nil).JSON(t, &ob)
			for _, it := range ob.Items {
				if it.Delivery != out.Deliveries[0].ID {
					continue
				}
				if it.To != tc.wantTo || !strings.Contains(it.Text, tc.wantHello) {
					t.Errorf("sent to %s: %q; want %s and %q", it.To, it.Text, tc.wantTo, tc.wantHello)
				}
				return
			}
			t.Fatal("no outbox item for the delivery")
		})
	}
}
