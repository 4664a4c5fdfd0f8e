package api_test

import (
	"context"
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/hubtest"
)

// TestKindOptOuts: a patient who opted out of a kind of notice on a channel
// gets it on their next channel; one who opted out of it everywhere is
// refused with a clear error; other kinds are unaffected.
func TestKindOptOuts(t *testing.T) {
	h := start(t, hubtest.SQLite)
	key, err := h.App.Core().Directory.CreateAPIKey(context.Background(), h.Practice.ID, hub.ModeTest, "tests")
	if err != nil {
		t.Fatal(err)
	}
	put := func(optOuts map[string][]string) {
		r := h.Do("PUT", "/v1/patients/p-1", key, map[string]any{"given_name": "Aroha", "phone": "021 123 4567",
			"channels": []string{"sms", "portal"}, "opt_outs": optOuts})
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	put(map[string][]string{"prescription_ready": {"sms"}})
	var p map[string]any
	h.Do("GET", "/v1/patients/p-1", key, nil).JSON(t, &p)
	if oo, _ := p["opt_outs"].(map[string]any); oo["prescription_ready"] == nil {
		t.Fatalf("opt_outs not shown: %v", p)
	}
	var out struct{ Deliveries []deliveryOut }
	r := h.Do("POST", "/v1/prescriptions/rx-1/ready", key, map[string]any{"patient": "p-1", "pickup": "practice"})
	if r.Status != 202 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	if out.Deliveries[0].Channel != "portal" {
		t.Errorf("prescription alert planned on %s, want portal (sms opted out)", out.Deliveries[0].Channel)
	}
	h.Do("POST", "/v1/notices", key, map[string]any{"patient": "p-1", "text": "Hello"}).JSON(t, &out)
	if out.Deliveries[0].Channel != "sms" {
		t.Errorf("plain notice planned on %s, want sms (only prescriptions opted out)", out.Deliveries[0].Channel)
	}
	put(map[string][]string{"notice": {"sms", "portal"}})
	if r := h.Do("POST", "/v1/notices", key, map[string]any{"patient": "p-1", "text": "Hello"}); r.Status != 422 || r.ErrorCode() != "opted_out" {
		t.Errorf("notice to a patient opted out of notices: %d %s", r.Status, r.Body)
	}
	if r := h.Do("PUT", "/v1/patients/p-2", key, map[string]any{"given_name": "Hemi", "opt_outs": map[string][]string{"spam": {"sms"}}}); r.Status != 400 || r.ErrorCode() != "invalid_kind" {
		t.Errorf("unknown kind: %d %s", r.Status, r.Body)
	}
}
