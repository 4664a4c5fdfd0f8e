package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

func start(t *testing.T, backend string) *hubtest.Hub {
	return hubtest.Start(t, hubtest.Options{Backend: backend, RedisDB: testenv.RedisDBAPI})
}

var aroha = map[string]any{
	"given_name": "Aroha", "family_name": "Ngata", "phone": "021 123 4567", "email": "aroha@example.nz",
	"channels": []string{"portal", "sms", "email"}, "locale": "mi-NZ", "date_of_birth": "1990-04-02",
}

type deliveryOut struct {
	ID, Patient, Channel, Kind, State string
	Attempts                          int
	ProviderID                        *string `json:"provider_id"`
	LastError                         *string `json:"last_error"`
}

func waitState(t *testing.T, h *hubtest.Hub, key, id string, want string) deliveryOut {
	t.Helper()
	var d deliveryOut
	hubtest.WaitFor(t, 15*time.Second, "delivery "+id+" "+want, func() bool {
		r := h.Do("GET", "/v1/deliveries/"+id, key, nil)
		r.JSON(t, &d)
		return d.State == want
	})
	return d
}

// TestNoticeReachesPortalInbox is the spine: a patient is created over
// HTTP, a notice posted, and it is delivered to the portal inbox.
func TestNoticeReachesPortalInbox(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			h := start(t, backend)
			r := h.MustDo(201, "PUT", "/v1/patients/p-1001", aroha)
			var p map[string]any
			r.JSON(t, &p)
			if p["phone"] != "+64211234567" {
				t.Errorf("phone not normalised to E.164: %v", p["phone"])
			}
			h.MustDo(200, "PUT", "/v1/patients/p-1001", aroha) // replace: 200

			r = h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1001", "text": "Your flu vaccine is due."})
			var out struct {
				NoticeID   string        `json:"notice_id"`
				Deliveries []deliveryOut `json:"deliveries"`
			}
			r.JSON(t, &out)
			if out.NoticeID == "" || len(out.Deliveries) != 1 || out.Deliveries[0].Channel != "portal" || out.Deliveries[0].State != "pending" {
				t.Fatalf("unexpected answer: %s", r.Body)
			}
			d := waitState(t, h, "", out.Deliveries[0].ID, "sent")
			if d.Attempts != 1 || d.Patient != "p-1001" || d.ProviderID == nil {
				t.Errorf("delivery after send: %+v", d)
			}
			var inbox struct {
				Items []struct {
					Text     string
					Delivery string
					ReadAt   *time.Time `json:"read_at"`
					ID       string
				}
			}
			h.MustDo(200, "GET", "/v1/patients/p-1001/inbox", nil).JSON(t, &inbox)
			if len(inbox.Items) != 1 || inbox.Items[0].Text != "Your flu vaccine is due." || inbox.Items[0].ReadAt != nil {
				t.Fatalf("inbox: %+v", inbox)
			}
			h.MustDo(204, "POST", "/v1/patients/p-1001/inbox/"+inbox.Items[0].ID+"/read", nil)
			h.MustDo(200, "GET", "/v1/patients/p-1001/inbox", nil).JSON(t, &inbox)
			if inbox.Items[0].ReadAt == nil {
				t.Error("read_at not set after marking read")
			}
			var list struct{ Deliveries []deliveryOut }
			h.MustDo(200, "GET", "/v1/deliveries?patient=p-1001&state=sent", nil).JSON(t, &list)
			if len(list.Deliveries) != 1 || list.Deliveries[0].ID != d.ID {
				t.Errorf("list by patient and state: %+v", list)
			}
			h.MustDo(200, "GET", "/v1/deliveries?state=failed", nil).JSON(t, &list)
			if len(list.Deliveries) != 0 {
				t.Errorf("no delivery failed, got %+v", list)
			}
		})
	}
}

// TestIdempotencyKeyConcurrent: the same POST with the same key ten times
// at once creates one notice, and every caller gets the same answer.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			h := start(t, backend)
			h.MustDo(201, "PUT", "/v1/patients/p-1", aroha)
			body := `{"patient":"p-1","text":"Kia ora, your results are in the portal."}`
			var wg sync.WaitGroup
			answers := make([]*hubtest.Response, 10)
			for i := range answers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = h.Do("POST", "/v1/notices", "", body, "Idempotency-Key", "retry-42")
				}()
			}
			wg.Wait()
			for i, a := range answers {
				if a.Status != 202 {
					t.Fatalf("call %d: %d %s", i, a.Status, a.Body)
				}
				if string(a.Body) != string(answers[0].Body) {
					t.Errorf("call %d answered differently:\n%s\n%s", i, a.Body, answers[0].Body)
				}
			}
			var list struct{ Deliveries []deliveryOut }
			h.MustDo(200, "GET", "/v1/deliveries?patient=p-1", nil).JSON(t, &list)
			if len(list.Deliveries) != 1 {
				t.Fatalf("%d deliveries for ten calls with one key, want 1", len(list.Deliveries))
			}
			// The same key with another body is refused.
			r := h.Do("POST", "/v1/notices", "", `{"patient":"p-1","text":"something else"}`, "Idempotency-Key", "retry-42")
			if r.Status != 422 || r.ErrorCode() != "idempotency_key_reused" {
				t.Errorf("reused key with other body: %d %s", r.Status, r.Body)
			}
			// Another practice may use the same key for itself.
			_, key2 := h.NewPractice("Other", hub.ModeLive)
			if r := h.Do("PUT", "/v1/patients/p-1", key2, aroha, "Idempotency-Key", "retry-42"); r.Status != 201 {
				t.Errorf("other practice, same key: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestBadInput: every kind of bad request gets its status and code, and
// nothing of another practice leaks.
func TestBadInput(t *testing.T) {
	h := start(t, hubtest.Postgres)
	h.MustDo(201, "PUT", "/v1/patients/p-1", aroha)
	_, otherKey := h.NewPractice("Other Practice", hub.ModeLive)
	big := `{"patient":"p-1","text":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name, method, path, key, body string
		headers                       []string
		status                        int
		code, field                   string
	}{
		{name: "malformed json", method: "POST", path: "/v1/notices", body: `{"patient":`, status: 400, code: "malformed_json"},
		{name: "not an object", method: "POST", path: "/v1/notices", body: `[1,2]`, status: 400, code: "invalid_type"},
		{name: "trailing data", method: "POST", path: "/v1/notices", body: `{"patient":"p-1","text":"x"} {}`, status: 400, code: "malformed_json"},
		{name: "unknown field", method: "POST", path: "/v1/notices", body: `{"patient":"p-1","text":"x","colour":"red"}`, status: 400, code: "unknown_field", field: "colour"},
		{name: "wrong type", method: "PUT", path: "/v1/patients/p-2", body: `{"given_name":42}`, status: 400, code: "invalid_type", field: "given_name"},
		{name: "empty body", method: "POST", path: "/v1/notices", body: ``, status: 400, code: "empty_body"},
		{name: "missing text", method: "POST", path: "/v1/notices", body: `{"patient":"p-1"}`, status: 400, code: "missing_field", field: "text"},
		{name: "unknown channel", method: "POST", path: "/v1/notices", body: `{"patient":"p-1","text":"x","channels":["fax"]}`, status: 400, code: "invalid_channel", field: "channels"},
		{name: "missing auth", method: "GET", path: "/v1/patients/p-1", key: "-", status: 401, code: "unauthorized"},
		{name: "wrong key", method: "GET", path: "/v1/patients/p-1", key: "krr_live_abc_def", status: 401, code: "unauthorized"},
		{name: "garbage key", method: "GET", path: "/v1/patients/p-1", key: "hunter2", status: 401, code: "unauthorized"},
		{name: "other practice's patient", method: "GET", path: "/v1/patients/p-1", key: otherKey, status: 404, code: "not_found"},
		{name: "other practice's notice", method: "POST", path: "/v1/notices", key: otherKey, body: `{"patient":"p-1","text":"x"}`, status: 404, code: "not_found"},
		{name: "other practice deletes", method: "DELETE", path: "/v1/patients/p-1", key: otherKey, status: 404, code: "not_found"},
		{name: "oversize body", method: "POST", path: "/v1/notices", body: big, status: 413, code: "body_too_large"},
		{name: "invalid phone", method: "PUT", path: "/v1/patients/p-2", body: `{"given_name":"Hemi","phone":"12345"}`, status: 400, code: "invalid_phone", field: "phone"},
		{name: "invalid email", method: "PUT", path: "/v1/patients/p-2", body: `{"given_name":"Hemi","email":"hemi@"}`, status: 400, code: "invalid_email", field: "email"},
		{name: "email header injection", method: "PUT", path: "/v1/patients/p-2", body: `{"given_name":"Hemi","email":"hemi@example.nz\r\nBcc: x@example.nz"}`, status: 400, code: "invalid_email", field: "email"},
		{name: "invalid locale", method: "PUT", path: "/v1/patients/p-2", body: `{"given_name":"Hemi","locale":"Māori!"}`, status: 400, code: "invalid_locale", field: "locale"},
		{name: "invalid date of birth", method: "PUT", path: "/v1/patients/p-2", body: `{"given_name":"Hemi","date_of_birth":"02/04/1990"}`, status: 400, code: "invalid_date", field: "date_of_birth"},
		{name: "bad external id", method: "PUT", path: "/v1/patients/p%20x", body: `{"given_name":"Hemi"}`, status: 400, code: "invalid_id", field: "external_id"},
		{name: "no reachable channel", method: "POST", path: "/v1/notices", body: `{"patient":"p-3","text":"x","channels":["sms"]}`, status: 422, code: "no_reachable_channel", field: "channels"},
		{name: "wrong content type", method: "POST", path: "/v1/notices", body: `patient=p-1`, headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, code: "unsupported_media_type"},
		{name: "bad state filter", method: "GET", path: "/v1/deliveries?state=lost", status: 400, code: "invalid_state", field: "state"},
		{name: "bad limit", method: "GET", path: "/v1/deliveries?limit=0", status: 400, code: "invalid_query", field: "limit"},
		{name: "unknown query", method: "GET", path: "/v1/deliveries?patinet=p-1", status: 400, code: "invalid_query", field: "patinet"},
		{name: "unknown delivery", method: "GET", path: "/v1/deliveries/dlv_nope", status: 404, code: "not_found"},
		{name: "unknown route", method: "GET", path: "/v1/nothing", status: 404, code: "no_route"},
		{name: "wrong method", method: "PATCH", path: "/v1/notices", status: 404, code: "no_route"},
	}
	h.MustDo(201, "PUT", "/v1/patients/p-3", map[string]any{"given_name": "Tama"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := h.Do(tc.method, tc.path, tc.key, body, tc.headers...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", r.Status, tc.status, r.Body)
			}
			var e struct {
				Error struct{ Code, Message, Field string } `json:"error"`
			}
			r.JSON(t, &e)
			if e.Error.Code != tc.code || e.Error.Field != tc.field || e.Error.Message == "" {
				t.Errorf("error %+v, want code %q field %q", e.Error, tc.code, tc.field)
			}
			if strings.Contains(string(r.Body), "Aroha") || strings.Contains(string(r.Body), "+6421") {
				t.Errorf("answer leaks patient data: %s", r.Body)
			}
		})
	}
	// The other practice's failed attempts changed nothing.
	var p map[string]any
	h.MustDo(200, "GET", "/v1/patients/p-1", nil).JSON(t, &p)
	if p["given_name"] != "Aroha" {
		t.Errorf("patient changed: %v", p)
	}
}

// TestTestKeyUsesOutbox: a test key runs the whole pipeline but keeps the
// SMS in the outbox instead of texting the patient.
func TestTestKeyUsesOutbox(t *testing.T) {
	h := start(t, hubtest.Postgres)
	key, err := h.App.Core().Directory.CreateAPIKey(context.Background(), h.Practice.ID, hub.ModeTest, "integration tests")
	if err != nil {
		t.Fatal(err)
	}
	if r := h.Do("PUT", "/v1/patients/p-1", key, aroha); r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r := h.Do("POST", "/v1/notices", key, map[string]any{"patient": "p-1", "text": "Test message", "channels": []string{"sms"}})
	var out struct{ Deliveries []deliveryOut }
	r.JSON(t, &out)
	d := waitState(t, h, key, out.Deliveries[0].ID, "sent")
	if d.Channel != "sms" || d.ProviderID == nil || !strings.HasPrefix(*d.ProviderID, "outbox:") {
		t.Errorf("test delivery: %+v", d)
	}
	var ob struct {
		Items []struct{ Channel, To, Text, Delivery string }
	}
	h.MustDo(200, "GET", "/v1/outbox", nil).JSON(t, &ob)
	if len(ob.Items) != 1 || ob.Items[0].To != "+64211234567" || ob.Items[0].Text != "Test message" || ob.Items[0].Channel != "sms" {
		t.Errorf("outbox: %+v", ob)
	}
	// Another practice does not see it.
	_, other := h.NewPractice("Other", hub.ModeLive)
	if r := h.Do("GET", "/v1/outbox", other, nil); !strings.Contains(string(r.Body), `"items":[]`) {
		t.Errorf("other practice sees the outbox: %s", r.Body)
	}
}

// TestOptOutFallsBack: an SMS to a number that texted STOP fails with
// reason opted_out, and the patient's next channel is used.
func TestOptOutFallsBack(t *testing.T) {
	h := start(t, hubtest.Postgres)
	h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha", "phone": "+64211234567", "channels": []string{"sms", "portal"}})
	svc := h.App.Core()
	if err := svc.Patients.SetOptOut(context.Background(), h.Practice.ID, "sms", "+64211234567", true, time.Now()); err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	h.MustDo(200, "GET", "/v1/patients/p-1", nil).JSON(t, &p)
	if p["sms_opted_out_at"] == nil {
		t.Fatalf("opt-out not shown: %v", p)
	}
	var out struct{ Deliveries []deliveryOut }
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": "Hello"}).JSON(t, &out)
	d := waitState(t, h, "", out.Deliveries[0].ID, "failed")
	if d.Channel != "sms" || d.LastError == nil || !strings.HasPrefix(*d.LastError, "opted_out") {
		t.Errorf("sms delivery: %+v", d)
	}
	var list struct{ Deliveries []deliveryOut }
	hubtest.WaitFor(t, 10*time.Second, "portal fallback sent", func() bool {
		h.MustDo(200, "GET", "/v1/deliveries?patient=p-1&state=sent", nil).JSON(t, &list)
		return len(list.Deliveries) == 1 && list.Deliveries[0].Channel == "portal"
	})
}

// TestAuditTrail: reads and changes of patient data and sends are audited,
// without content.
func TestAuditTrail(t *testing.T) {
	h := start(t, hubtest.SQLite)
	h.MustDo(201, "PUT", "/v1/patients/p-1", aroha)
	h.MustDo(200, "GET", "/v1/patients/p-1", nil)
	var out struct{ Deliveries []deliveryOut }
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": "Secret clinical words"}).JSON(t, &out)
	waitState(t, h, "", out.Deliveries[0].ID, "sent")
	h.MustDo(204, "DELETE", "/v1/patients/p-1", nil)
	p, err := h.App.Store().GetPatient(context.Background(), h.Practice.ID, "p-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Phone != "" || p.Email != "" || p.GivenName != "" {
		t.Errorf("DELETE left contact details: %+v", p)
	}
	evs, err := h.App.Store().ListAudit(context.Background(), h.Practice.ID, p.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Action] = true
		if e.Source == "" && strings.HasPrefix(e.Actor, "key:") {
			t.Errorf("API event without source address: %+v", e)
		}
		if s := fmt.Sprintf("%+v", e); strings.Contains(s, "Secret clinical") || strings.Contains(s, "+6421") {
			t.Errorf("audit event holds content: %s", s)
		}
	}
	for _, a := range []string{"patient.put", "patient.read", "notice.create", "delivery.sent", "patient.delete"} {
		if !seen[a] {
			t.Errorf("no %s audit event; have %v", a, seen)
		}
	}
}

// TestHealth: /healthz answers, /readyz checks the database and Redis.
func TestHealth(t *testing.T) {
	h := start(t, hubtest.SQLite)
	if r := h.Do("GET", "/healthz", "-", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	if r := h.Do("GET", "/readyz", "-", nil); r.Status != 200 {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	h.Mini.Close() // Redis gone
	if r := h.Do("GET", "/readyz", "-", nil); r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "unavailable" {
		t.Fatalf("readyz without Redis: %d %s", r.Status, r.Body)
	}
	if err := h.Mini.Restart(); err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFor(t, 5*time.Second, "ready again", func() bool { return h.Do("GET", "/readyz", "-", nil).Status == 200 })
}

// TestRateLimit: a key that calls too fast gets 429 with Retry-After; other
// practices are not slowed.
func TestRateLimit(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{Backend: hubtest.SQLite, Configure: func(c *app.Config) { c.RateLimit = 1 }})
	limited := 0
	for i := 0; i < 150; i++ {
		r := h.Do("GET", "/v1/deliveries", "", nil)
		if r.Status == 429 {
			limited++
			if r.Header.Get("Retry-After") == "" || r.ErrorCode() != "rate_limited" {
				t.Fatalf("429 without Retry-After or code: %v %s", r.Header, r.Body)
			}
		}
	}
	if limited == 0 {
		t.Fatal("150 calls at once with a limit of 1/s (burst 100) were never limited")
	}
	_, other := h.NewPractice("Other", hub.ModeLive)
	if r := h.Do("GET", "/v1/deliveries", other, nil); r.Status != 200 {
		t.Errorf("other practice limited too: %d", r.Status)
	}
}
