package reminders_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/pmshooks"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
	"github.com/karerehub/karere/internal/twiliotest"
	"github.com/karerehub/karere/queue"
)

const (
	accountSID    = "AC0123456789abcdef0123456789abcdef"
	authToken     = "tok9f8e7d6c5b4a39281706f5e4d3c2b1"
	webhookSecret = "whsec_kowhai_0123456789"
	patientPhone  = "+64211234567"
)

// fakePMS records the webhook events it receives.
type fakePMS struct {
	mu     sync.Mutex
	got    []pmsRequest
	status int
	srv    *httptest.Server
}

type pmsRequest struct {
	header http.Header
	body   []byte
}

func newFakePMS(t *testing.T, status int) *fakePMS {
	f := &fakePMS{status: status}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, pmsRequest{header: r.Header.Clone(), body: b})
		status := f.status
		f.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePMS) requests() []pmsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

func startHub(t *testing.T, backend string, tw *twiliotest.Server, opts ...func(*app.Config)) *hubtest.Hub {
	return hubtest.Start(t, hubtest.Options{Backend: backend, RedisDB: testenv.RedisDBReminders, Configure: func(c *app.Config) {
		if tw != nil {
			c.TwilioBaseURL = tw.URL
		}
		for _, o := range opts {
			o(c)
		}
	}})
}

// secondOffsets lets a test use reminder offsets of seconds (the API
// refuses offsets below settings.MinReminderOffset).
func secondOffsets(c *app.Config) { c.MinReminderOffset = time.Second }

func putPatient(h *hubtest.Hub, id string, channels ...string) {
	h.MustDo(201, "PUT", "/v1/patients/"+id, map[string]any{
		"given_name": "Aroha", "family_name": "Ngata", "phone": "021 123 4567", "email": "aroha@example.nz",
		"channels": channels, "locale": "en-NZ",
	})
}

type appointmentOut struct {
	ExternalID     string     `json:"external_id"`
	Patient        string     `json:"patient"`
	Start          string     `json:"start"`
	Status         string     `json:"status"`
	Confirmation   string     `json:"confirmation"`
	ConfirmationAt *time.Time `json:"confirmation_at"`
	Version        int        `json:"version"`
	Cancellation   *string    `json:"cancellation_notice"`
	Reminders      []struct {
		ID, Offset, State string
		FireAt            string  `json:"fire_at"`
		Version           int     `json:"version"`
		Delivery          *string `json:"delivery"`
	} `json:"reminders"`
}

func getAppointment(t *testing.T, h *hubtest.Hub, id string) appointmentOut {
	var a appointmentOut
	h.MustDo(200, "GET", "/v1/appointments/"+id, nil).JSON(t, &a)
	return a
}

func nzTime(t *testing.T, tm time.Time) string {
	nz, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	return tm.In(nz).Truncate(time.Second).Format(time.RFC3339)
}

// replySMS posts an inbound text the way Twilio does, signed.
func replySMS(t *testing.T, h *hubtest.Hub, from, body string) string {
	t.Helper()
	sid := fmt.Sprintf("SM%032d", smsSids.Add(1))
	replySMSWithSid(t, h, from, body, sid)
	return sid
}

// smsSids numbers the test's inbound texts: Twilio gives each its own
// MessageSid.
var smsSids atomic.Int64

// replySMSWithSid posts an inbound text with a given MessageSid (a
// replay repeats one).
func replySMSWithSid(t *testing.T, h *hubtest.Hub, from, body, sid string) {
	t.Helper()
	path := "/v1/webhooks/twilio/sms?practice=" + url.QueryEscape(h.Practice.ID)
	form := url.Values{"From": {from}, "To": {"+6498870000"}, "Body": {body}, "AccountSid": {accountSID},
		"MessageSid": {sid}, "NumMedia": {"0"}}
	req, _ := http.NewRequest("POST", h.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(authToken, h.Config.PublicURL+path, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("inbound SMS: status %d: %s", resp.StatusCode, b)
	}
}

func inspector(t *testing.T) *asynq.Inspector {
	opt, err := asynq.ParseRedisURI(testenv.RedisURL(testenv.RedisDBReminders))
	if err != nil {
		t.Fatal(err)
	}
	in := asynq.NewInspector(opt)
	t.Cleanup(func() { in.Close() })
	return in
}

func scheduledIDs(t *testing.T, in *asynq.Inspector) map[string]time.Time {
	t.Helper()
	tasks, err := in.ListScheduledTasks(queue.QueueDefault, asynq.PageSize(1000))
	if err != nil && !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("ListScheduledTasks: %v", err)
	}
	out := map[string]time.Time{}
	for _, ti := range tasks {
		if ti.Type == queue.TypeReminderFire {
			out[ti.ID] = ti.NextProcessAt
		}
	}
	return out
}

// TestReminderEndToEnd: an appointment is upserted, its reminder fires and
// is texted through (fake) Twilio asking for Y/N, the patient's signed Y
// reply confirms the appointment, and the PMS receives a signed
// appointment.confirmed event.
func TestReminderEndToEnd(t *testing.T) {
	tw := twiliotest.NewServer(t, accountSID, authToken)
	pms := newFakePMS(t, 204)
	h := startHub(t, hubtest.Postgres, tw, secondOffsets)

	r := h.MustDo(200, "PUT", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "auth_token": authToken, "from": "+6498870000"})
	if strings.Contains(string(r.Body), authToken) {
		t.Fatalf("PUT /v1/settings/sms echoed the token: %s", r.Body)
	}
	h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": pms.srv.URL + "/karere", "secret": webhookSecret})
	h.MustDo(200, "PUT", "/v1/settings/reminders", map[string]any{"offsets": []string{"12s"},
		"quiet_hours": map[string]string{"start": "00:00", "end": "00:00"}, "confirm": true})
	putPatient(h, "p-1001", "sms")

	start := time.Now().Add(15 * time.Second)
	var a appointmentOut
	h.MustDo(201, "PUT", "/v1/appointments/a-1", map[string]any{"patient": "p-1001", "start": nzTime(t, start),
		"duration_minutes": 15, "clinician": "Dr Aroha Smith", "location": "Kōwhai Health, Room 2", "status": "booked"}).JSON(t, &a)
	if len(a.Reminders) != 1 || a.Reminders[0].Offset != "12s" || a.Reminders[0].State != "scheduled" || a.Confirmation != "none" {
		t.Fatalf("appointment after PUT: %+v", a)
	}
	if !strings.HasSuffix(a.Reminders[0].FireAt, "+13:00") && !strings.HasSuffix(a.Reminders[0].FireAt, "+12:00") {
		t.Errorf("fire_at %q is not in the practice's offset", a.Reminders[0].FireAt)
	}

	hubtest.WaitFor(t, 20*time.Second, "the reminder SMS", func() bool { return len(tw.Sent()) > 0 })
	msg := tw.Sent()[0]
	if msg.Get("To") != patientPhone || !strings.Contains(msg.Get("Body"), "Reply Y to confirm or N to cancel") ||
		!strings.Contains(msg.Get("Body"), "Dr Aroha Smith") {
		t.Errorf("reminder SMS = %v", msg)
	}
	hubtest.WaitFor(t, 5*time.Second, "reminder sent, confirmation pending", func() bool {
		a = getAppointment(t, h, "a-1")
		return a.Reminders[0].State == "sent" && a.Reminders[0].Delivery != nil && a.Confirmation == "pending"
	})

	ySid := replySMS(t, h, patientPhone, "Y")
	if a = getAppointment(t, h, "a-1"); a.Confirmation != "confirmed" || a.ConfirmationAt == nil || a.Status != "booked" {
		t.Fatalf("after Y: %+v", a)
	}

	hubtest.WaitFor(t, 10*time.Second, "the PMS webhook", func() bool { return len(pms.requests()) > 0 })
	got := pms.requests()[0]
	if err := pmshooks.VerifyWebhookSignature(webhookSecret, got.header.Get("Karere-Signature"), got.body, time.Now(), 0); err != nil {
		t.Errorf("signature %q does not verify: %v", got.header.Get("Karere-Signature"), err)
	}
	if err := pmshooks.VerifyWebhookSignature("another secret 0123", got.header.Get("Karere-Signature"), got.body, time.Now(), 0); err == nil {
		t.Error("signature verifies with the wrong secret")
	}
	if err := pmshooks.VerifyWebhookSignature(webhookSecret, got.header.Get("Karere-Signature"), got.body, time.Now().Add(6*time.Minute), 0); err == nil {
		t.Error("signature verifies six minutes later")
	}
	var ev struct {
		ID, Type string
		Data     struct{ Appointment, Patient, Confirmation string }
	}
	if err := json.Unmarshal(got.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "appointment.confirmed" || got.header.Get("Karere-Event") != ev.Type || got.header.Get("Karere-Delivery") != ev.ID ||
		ev.Data.Appointment != "a-1" || ev.Data.Patient != "p-1001" || ev.Data.Confirmation != "confirmed" {
		t.Errorf("webhook = %s %s", got.header, got.body)
	}

	// A second Y changes nothing and sends no second event; N declines
	// (the appointment stays booked: the PMS decides).
	replySMS(t, h, patientPhone, "yes")
	replySMS(t, h, patientPhone, "N")
	if a = getAppointment(t, h, "a-1"); a.Confirmation != "declined" || a.Status != "booked" {
		t.Fatalf("after N: %+v", a)
	}
	// The first Y again (same MessageSid: a retry or a replay) does not
	// undo the later N.
	replySMSWithSid(t, h, patientPhone, "Y", ySid)
	if a = getAppointment(t, h, "a-1"); a.Confirmation != "declined" {
		t.Fatalf("a replayed Y changed the answer: %+v", a)
	}
	hubtest.WaitFor(t, 10*time.Second, "appointment.declined", func() bool { return len(pms.requests()) >= 2 })
	time.Sleep(300 * time.Millisecond)
	if reqs := pms.requests(); len(reqs) != 2 || reqs[1].header.Get("Karere-Event") != "appointment.declined" {
		t.Errorf("PMS got %d events; want confirmed then declined", len(reqs))
	}
	if n := len(tw.Sent()); n != 1 {
		t.Errorf("%d texts sent; want the one reminder", n)
	}
	// The practice sees what was sent to its PMS.
	var evs struct {
		Events []struct{ Type, State string }
	}
	hubtest.WaitFor(t, 10*time.Second, "both events recorded as sent", func() bool {
		h.MustDo(200, "GET", "/v1/webhooks/events", nil).JSON(t, &evs)
		return len(evs.Events) == 2 && evs.Events[0].State == "sent" && evs.Events[1].State == "sent"
	})
	if evs.Events[0].Type != "appointment.declined" || evs.Events[1].Type != "appointment.confirmed" {
		t.Errorf("events, newest first: %+v", evs.Events)
	}
}

// TestReminderScheduling asserts Asynq's scheduled set after an upsert, a
// reschedule and a cancel, and that a stale task forced to run sends
// nothing while the current one sends.
func TestReminderScheduling(t *testing.T) {
	h := startHub(t, hubtest.Postgres, nil)
	in := inspector(t)
	putPatient(h, "p-1001", "portal")
	start := time.Now().Add(10 * 24 * time.Hour).Truncate(time.Hour)
	var a appointmentOut
	h.MustDo(201, "PUT", "/v1/appointments/a-1", map[string]any{"patient": "p-1001", "start": nzTime(t, start), "duration_minutes": 15}).JSON(t, &a)
	if len(a.Reminders) != 2 || a.Version != 1 {
		t.Fatalf("want 2 reminders at version 1: %+v", a)
	}
	want := map[string]time.Time{}
	for _, r := range a.Reminders {
		ft, err := time.Parse(time.RFC3339, r.FireAt)
		if err != nil || !strings.HasSuffix(r.ID, "_v1") {
			t.Fatalf("reminder %+v: %v", r, err)
		}
		want[r.ID] = ft
	}
	check := func(want map[string]time.Time) {
		t.Helper()
		got := scheduledIDs(t, in)
		if len(got) != len(want) {
			t.Fatalf("scheduled set = %v, want %v", got, want)
		}
		for id, ft := range want {
			if at, ok := got[id]; !ok || !at.Equal(ft) {
				t.Errorf("task %s: process at %v (present %v), want %v", id, at, ok, ft)
			}
		}
	}
	check(want)
	old := want

	// Reschedule a day later: version 2, the old tasks gone, new ones in.
	h.MustDo(200, "PUT", "/v1/appointments/a-1", map[string]any{"patient": "p-1001", "start": nzTime(t, start.Add(24*time.Hour)),
		"duration_minutes": 15}).JSON(t, &a)
	want = map[string]time.Time{}
	for _, r := range a.Reminders {
		ft, _ := time.Parse(time.RFC3339, r.FireAt)
		if r.Version != 2 || r.State != "scheduled" {
			t.Errorf("after reschedule: %+v", r)
		}
		want[r.ID] = ft
	}
	if a.Version != 2 || len(want) != 2 {
		t.Fatalf("after reschedule: %+v", a)
	}
	check(want)

	// A change that is not a move (clinician) keeps the version and tasks.
	h.MustDo(200, "PUT", "/v1/appointments/a-1", map[string]any{"patient": "p-1001", "start": nzTime(t, start.Add(24*time.Hour)),
		"duration_minutes": 30, "clinician": "Dr Smith"}).JSON(t, &a)
	if a.Version != 2 {
		t.Errorf("clinician change bumped the version to %d", a.Version)
	}
	check(want)

	// A stale task that Redis kept (a delete that failed) is forced to run:
	// it finds version 1 superseded and sends nothing.
	sched := queue.NewScheduler(h.App.RedisOpt(), 0)
	t.Cleanup(func() { sched.Close() })
	var staleID string
	for id := range old {
		staleID = id
	}
	stale, err := h.App.Store().GetReminder(t.Context(), h.Practice.ID, staleID)
	if err != nil || stale.State != hub.ReminderCancelled {
		t.Fatalf("old reminder = %+v, %v; want cancelled", stale, err)
	}
	stale.FireAt = time.Now().Add(time.Hour)
	if err := sched.ScheduleReminder(t.Context(), stale); err != nil {
		t.Fatal(err)
	}
	runAndWait := func(id string) {
		t.Helper()
		if err := in.RunTask(queue.QueueDefault, id); err != nil {
			t.Fatalf("RunTask %s: %v", id, err)
		}
		hubtest.WaitFor(t, 10*time.Second, "task "+id+" to finish", func() bool {
			_, err := in.GetTaskInfo(queue.QueueDefault, id)
			return err != nil
		})
	}
	runAndWait(staleID)
	var ds struct{ Deliveries []struct{ ID, Kind string } }
	h.MustDo(200, "GET", "/v1/deliveries?patient=p-1001", nil).JSON(t, &ds)
	if len(ds.Deliveries) != 0 {
		t.Fatalf("the stale task sent %+v", ds.Deliveries)
	}

	// The current version's task, forced, does send.
	var current string
	for id := range want {
		if strings.Contains(id, "_48h_") {
			current = id
		}
	}
	runAndWait(current)
	h.MustDo(200, "GET", "/v1/deliveries?patient=p-1001", nil).JSON(t, &ds)
	if len(ds.Deliveries) != 1 || ds.Deliveries[0].Kind != hub.KindAppointmentReminder {
		t.Fatalf("the current task sent %+v", ds.Deliveries)
	}
	delete(want, current)
	check(want)

	// Cancel: no tasks left, the cancellation notice goes out.
	h.MustDo(200, "DELETE", "/v1/appointments/a-1", nil).JSON(t, &a)
	if a.Status != "cancelled" || a.Version != 3 || a.Cancellation == nil {
		t.Fatalf("after DELETE: %+v", a)
	}
	check(map[string]time.Time{})
	for _, r := range getAppointment(t, h, "a-1").Reminders {
		if r.State == "scheduled" {
			t.Errorf("reminder still scheduled after cancel: %+v", r)
		}
	}
	hubtest.WaitFor(t, 10*time.Second, "the cancellation in the portal inbox", func() bool {
		var inbox struct{ Items []struct{ Kind, Text string } }
		h.MustDo(200, "GET", "/v1/patients/p-1001/inbox", nil).JSON(t, &inbox)
		return slices.ContainsFunc(inbox.Items, func(it struct{ Kind, Text string }) bool {
			return it.Kind == hub.KindAppointmentCancelled && strings.Contains(it.Text, "cancelled")
		})
	})
	// Cancelling again changes nothing.
	a = appointmentOut{}
	h.MustDo(200, "DELETE", "/v1/appointments/a-1", nil).JSON(t, &a)
	if a.Version != 3 || a.Cancellation != nil {
		t.Errorf("second DELETE: %+v", a)
	}
}

// TestReminderSweeperReschedulesLostTasks: Redis loses a task (FLUSHDB);
// the sweep makes it again from the database.
func TestReminderSweeperReschedulesLostTasks(t *testing.T) {
	h := startHub(t, hubtest.Postgres, nil)
	in := inspector(t)
	putPatient(h, "p-1001", "portal")
	var a appointmentOut
	h.MustDo(201, "PUT", "/v1/appointments/a-1", map[string]any{"patient": "p-1001",
		"start": nzTime(t, time.Now().Add(10*24*time.Hour)), "duration_minutes": 15}).JSON(t, &a)
	if err := h.App.Redis().FlushDB(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	sched := queue.NewScheduler(h.App.RedisOpt(), 0)
	t.Cleanup(func() { sched.Close() })
	sw := &queue.ReminderSweeper{Store: h.App.Store(), Scheduler: sched, Horizon: 11 * 24 * time.Hour}
	n, err := sw.Sweep(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2", n, err)
	}
	if got := scheduledIDs(t, in); len(got) != 2 {
		t.Fatalf("after sweep: %v", got)
	}
	if n, err := sw.Sweep(t.Context()); err != nil || n != 2 || len(scheduledIDs(t, in)) != 2 {
		t.Fatalf("second sweep = %d, %v: tasks %v", n, err, scheduledIDs(t, in))
	}
}

func TestAppointmentValidation(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			h := startHub(t, backend, nil)
			putPatient(h, "p-1001", "portal")
			ok := map[string]any{"patient": "p-1001", "start": "2030-12-01T10:30:00+13:00", "duration_minutes": 15,
				"clinician": "Dr Aroha Smith", "location": "Kōwhai Health, Room 2", "status": "booked"}
			with := func(k string, v any) map[string]any {
				m := map[string]any{}
				for kk, vv := range ok {
					m[kk] = vv
				}
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
				return m
			}
			tests := []struct {
				name   string
				body   any
				status int
				field  string
			}{
				{"no patient", with("patient", nil), 400, "patient"},
				{"bad patient id", with("patient", "p 1"), 400, "patient"},
				{"unknown patient", with("patient", "p-9"), 422, "patient"},
				{"no start", with("start", nil), 400, "start"},
				{"start without offset", with("start", "2030-12-01T10:30:00"), 400, "start"},
				{"start as a date", with("start", "2030-12-01"), 400, "start"},
				{"no duration", with("duration_minutes", nil), 400, "duration_minutes"},
				{"zero duration", with("duration_minutes", 0), 400, "duration_minutes"},
				{"duration as text", with("duration_minutes", "15"), 400, "duration_minutes"},
				{"long clinician", with("clinician", strings.Repeat("x", 101)), 400, "clinician"},
				{"clinician with a newline", with("clinician", "Dr\nSmith"), 400, "clinician"},
				{"long location", with("location", strings.Repeat("x", 201)), 400, "location"},
				{"unknown status", with("status", "maybe"), 400, "status"},
				{"unknown field", with("reason", "rash"), 400, "reason"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := h.Do("PUT", "/v1/appointments/a-1", "", tt.body)
					var e struct {
						Error struct{ Code, Field, Message string }
					}
					_ = json.Unmarshal(r.Body, &e)
					if r.Status != tt.status || e.Error.Field != tt.field {
						t.Errorf("status %d field %q (%s); want %d %q", r.Status, e.Error.Field, r.Body, tt.status, tt.field)
					}
				})
			}
			if r := h.Do("PUT", "/v1/appointments/bad%20id", "", ok); r.Status != 400 {
				t.Errorf("bad external id: %d %s", r.Status, r.Body)
			}
			var a appointmentOut
			h.MustDo(201, "PUT", "/v1/appointments/a-1", ok).JSON(t, &a)
			if a.Start != "2030-12-01T10:30:00+13:00" || a.Patient != "p-1001" || a.Confirmation != "none" || len(a.Reminders) != 2 {
				t.Errorf("created: %+v", a)
			}
			h.MustDo(200, "PUT", "/v1/appointments/a-1", ok)
			if a = getAppointment(t, h, "a-1"); a.Version != 1 {
				t.Errorf("identical PUT bumped the version: %+v", a)
			}
			h.MustDo(404, "GET", "/v1/appointments/a-2", nil)
			h.MustDo(404, "DELETE", "/v1/appointments/a-2", nil)
			// Another practice does not see it.
			_, other := h.NewPractice("Rimu Medical", hub.ModeLive)
			if r := h.Do("GET", "/v1/appointments/a-1", other, nil); r.Status != 404 {
				t.Errorf("other practice GET: %d", r.Status)
			}
			// A past appointment cancelled: no notice.
			past := with("start", "2020-01-06T09:00:00+13:00")
			h.MustDo(201, "PUT", "/v1/appointments/a-past", past).JSON(t, &a)
			if len(a.Reminders) != 0 {
				t.Errorf("past appointment has reminders: %+v", a)
			}
			a = appointmentOut{}
			h.MustDo(200, "DELETE", "/v1/appointments/a-past", nil).JSON(t, &a)
			if a.Cancellation != nil || a.Status != "cancelled" {
				t.Errorf("past appointment cancelled: %+v", a)
			}
		})
	}
}

func TestPrescriptionReady(t *testing.T) {
	tw := twiliotest.NewServer(t, accountSID, authToken)
	h := startHub(t, hubtest.Postgres, tw)
	h.MustDo(200, "PUT", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "auth_token": authToken, "from": "+6498870000"})
	putPatient(h, "p-portal", "portal")
	putPatient(h, "p-sms", "sms")

	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no patient", map[string]any{"pickup": "pharmacy", "pharmacy": "Unichem Te Aro"}, "patient"},
		{"no pickup", map[string]any{"patient": "p-sms"}, "pickup"},
		{"bad pickup", map[string]any{"patient": "p-sms", "pickup": "post"}, "pickup"},
		{"pharmacy missing", map[string]any{"patient": "p-sms", "pickup": "pharmacy"}, "pharmacy"},
		{"pharmacy with practice pickup", map[string]any{"patient": "p-sms", "pickup": "practice", "pharmacy": "Unichem"}, "pharmacy"},
		{"bad date", map[string]any{"patient": "p-sms", "pickup": "practice", "collect_by": "10/12/2026"}, "collect_by"},
		{"past date", map[string]any{"patient": "p-sms", "pickup": "practice", "collect_by": "2020-01-01"}, "collect_by"},
		{"no medicine field", map[string]any{"patient": "p-sms", "pickup": "practice", "medicine": "amoxicillin"}, "medicine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := h.Do("POST", "/v1/prescriptions/rx-1/ready", "", tt.body)
			var e struct{ Error struct{ Field string } }
			_ = json.Unmarshal(r.Body, &e)
			if r.Status != 400 || e.Error.Field != tt.field {
				t.Errorf("status %d %s; want 400 naming %s", r.Status, r.Body, tt.field)
			}
		})
	}

	collect := time.Now().AddDate(0, 0, 7).Format(time.DateOnly)
	var out struct {
		NoticeID   string `json:"notice_id"`
		Deliveries []struct{ ID, Channel, State string }
	}
	h.MustDo(202, "POST", "/v1/prescriptions/rx-1/ready", map[string]any{"patient": "p-portal", "pickup": "pharmacy",
		"pharmacy": "Unichem Te Aro", "collect_by": collect}).JSON(t, &out)
	if out.NoticeID == "" || len(out.Deliveries) != 1 || out.Deliveries[0].Channel != "portal" {
		t.Fatalf("answer: %+v", out)
	}
	hubtest.WaitFor(t, 10*time.Second, "the portal inbox", func() bool {
		var inbox struct{ Items []struct{ Kind, Text string } }
		h.MustDo(200, "GET", "/v1/patients/p-portal/inbox", nil).JSON(t, &inbox)
		return len(inbox.Items) == 1 && inbox.Items[0].Kind == hub.KindPrescriptionReady &&
			strings.Contains(inbox.Items[0].Text, "Unichem Te Aro")
	})

	// By SMS, with an Idempotency-Key: a retried call creates nothing new.
	body := map[string]any{"patient": "p-sms", "pickup": "pharmacy", "pharmacy": "Unichem Te Aro"}
	r1 := h.MustDo(202, "POST", "/v1/prescriptions/rx-2/ready", body, "Idempotency-Key", "rx-2-ready")
	r2 := h.MustDo(202, "POST", "/v1/prescriptions/rx-2/ready", body, "Idempotency-Key", "rx-2-ready")
	if string(r1.Body) != string(r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay differs: %s / %s", r1.Body, r2.Body)
	}
	hubtest.WaitFor(t, 10*time.Second, "the SMS", func() bool { return len(tw.Sent()) > 0 })
	time.Sleep(300 * time.Millisecond)
	sent := tw.Sent()
	if len(sent) != 1 || sent[0].Get("To") != patientPhone || !strings.Contains(sent[0].Get("Body"), "ready to collect at Unichem Te Aro") {
		t.Errorf("texts: %v", sent)
	}
}

func TestSettingsAPI(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			h := startHub(t, backend, nil)
			h.MustDo(404, "GET", "/v1/settings/sms", nil)

			// SMS: the token is write-only and kept when left out.
			r := h.MustDo(200, "PUT", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "auth_token": authToken,
				"messaging_service_sid": "MG" + strings.Repeat("ab", 16), "max_segments": 4})
			r2 := h.MustDo(200, "GET", "/v1/settings/sms", nil)
			for _, b := range [][]byte{r.Body, r2.Body} {
				if strings.Contains(string(b), authToken) || strings.Contains(string(b), `"auth_token"`) || !strings.Contains(string(b), `"auth_token_set":true`) {
					t.Errorf("sms settings answer: %s", b)
				}
			}
			h.MustDo(200, "PUT", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "from": "+6498870000"})
			set, err := h.App.Core().Settings.SMS(t.Context(), h.Practice.ID)
			if err != nil || set.AuthToken != authToken || set.From != "+6498870000" {
				t.Errorf("stored after a PUT without the token: %+v, %v", set, err)
			}

			// Email: password and DKIM key are write-only.
			pemKey := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n"
			r = h.MustDo(200, "PUT", "/v1/settings/email", map[string]any{"from": "Kōwhai Health <noreply@kowhai.example.nz>",
				"relay_host": "smtp.example.nz", "relay_port": 587, "tls": "starttls", "username": "kowhai", "password": "hunter2-long-pass",
				"dkim_domain": "kowhai.example.nz", "dkim_selector": "k1", "dkim_private_key": pemKey})
			r2 = h.MustDo(200, "GET", "/v1/settings/email", nil)
			for _, b := range [][]byte{r.Body, r2.Body} {
				s := string(b)
				if strings.Contains(s, "hunter2") || strings.Contains(s, "PRIVATE KEY") || !strings.Contains(s, `"password_set":true`) ||
					!strings.Contains(s, `"dkim_private_key_set":true`) {
					t.Errorf("email settings answer: %s", s)
				}
			}

			// Webhooks: the secret is write-only.
			r = h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": "https://pms.example.nz/karere", "secret": webhookSecret})
			r2 = h.MustDo(200, "GET", "/v1/settings/webhooks", nil)
			for _, b := range [][]byte{r.Body, r2.Body} {
				if strings.Contains(string(b), webhookSecret) || !strings.Contains(string(b), `"secret_set":true`) {
					t.Errorf("webhook settings answer: %s", b)
				}
			}
			h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": "https://pms.example.nz/v2"})

			// Reminders: defaults, then a change.
			var rs struct {
				Offsets    []string
				QuietHours struct{ Start, End string } `json:"quiet_hours"`
				Confirm    bool
			}
			h.MustDo(200, "GET", "/v1/settings/reminders", nil).JSON(t, &rs)
			if !slices.Equal(rs.Offsets, []string{"48h", "2h"}) || rs.QuietHours.Start != "20:00" || rs.QuietHours.End != "08:00" || !rs.Confirm {
				t.Errorf("default reminder settings: %+v", rs)
			}
			h.MustDo(200, "PUT", "/v1/settings/reminders", map[string]any{"offsets": []string{"72h", "90m"}, "confirm": false})
			h.MustDo(200, "GET", "/v1/settings/reminders", nil).JSON(t, &rs)
			if !slices.Equal(rs.Offsets, []string{"72h", "1h30m"}) || rs.Confirm || rs.QuietHours.Start != "20:00" {
				t.Errorf("reminder settings: %+v", rs)
			}

			key := "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"
			tests := []struct {
				name, path string
				body       map[string]any
				field      string
			}{
				{"sms account sid", "/v1/settings/sms", map[string]any{"account_sid": "AC123", "auth_token": authToken, "from": "+6498870000"}, "account_sid"},
				{"sms no sender", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "auth_token": authToken}, "from"},
				{"sms from not E.164", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "auth_token": authToken, "from": "021 123"}, "from"},
				{"sms service sid", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "auth_token": authToken, "messaging_service_sid": "MG1"}, "messaging_service_sid"},
				{"sms segments", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "auth_token": authToken, "from": "+6498870000", "max_segments": 11}, "max_segments"},
				{"sms new account without token", "/v1/settings/sms", map[string]any{"account_sid": "AC" + strings.Repeat("f", 32), "from": "+6498870000"}, "auth_token"},
				{"email from", "/v1/settings/email", map[string]any{"from": "not an address"}, "from"},
				{"email tls", "/v1/settings/email", map[string]any{"from": "a@example.nz", "tls": "ssl"}, "tls"},
				{"email port", "/v1/settings/email", map[string]any{"from": "a@example.nz", "relay_port": 70000}, "relay_port"},
				{"email relay host", "/v1/settings/email", map[string]any{"from": "a@example.nz", "relay_host": "smtp example"}, "relay_host"},
				{"email dkim key", "/v1/settings/email", map[string]any{"from": "a@example.nz", "dkim_domain": "example.nz", "dkim_selector": "k1", "dkim_private_key": key}, "dkim_private_key"},
				{"email dkim without selector", "/v1/settings/email", map[string]any{"from": "a@example.nz", "dkim_domain": "example.nz", "dkim_private_key": pemKey}, "dkim_selector"},
				{"webhook http", "/v1/settings/webhooks", map[string]any{"url": "http://pms.example.nz/x", "secret": webhookSecret}, "url"},
				{"webhook relative", "/v1/settings/webhooks", map[string]any{"url": "/x", "secret": webhookSecret}, "url"},
				{"webhook short secret", "/v1/settings/webhooks", map[string]any{"url": "https://pms.example.nz/x", "secret": "short"}, "secret"},
				{"reminder offset too small", "/v1/settings/reminders", map[string]any{"offsets": []string{"48h", "10m"}}, "offsets[1]"},
				{"reminder offset too large", "/v1/settings/reminders", map[string]any{"offsets": []string{"15d"}}, "offsets[0]"},
				{"reminder offset not a duration", "/v1/settings/reminders", map[string]any{"offsets": []string{"2 days"}}, "offsets[0]"},
				{"reminder offsets repeated", "/v1/settings/reminders", map[string]any{"offsets": []string{"2h", "120m"}}, "offsets[1]"},
				{"too many offsets", "/v1/settings/reminders", map[string]any{"offsets": []string{"1h", "2h", "3h", "4h", "5h", "6h"}}, "offsets"},
				{"no offsets", "/v1/settings/reminders", map[string]any{"offsets": []string{}}, "offsets"},
				{"quiet start", "/v1/settings/reminders", map[string]any{"quiet_hours": map[string]string{"start": "25:00", "end": "08:00"}}, "quiet_hours.start"},
				{"quiet end", "/v1/settings/reminders", map[string]any{"quiet_hours": map[string]string{"start": "20:00", "end": "8am"}}, "quiet_hours.end"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := h.Do("PUT", tt.path, "", tt.body)
					var e struct {
						Error struct{ Field, Message string }
					}
					_ = json.Unmarshal(r.Body, &e)
					if r.Status != 400 || e.Error.Field != tt.field {
						t.Errorf("status %d %s; want 400 naming %s", r.Status, r.Body, tt.field)
					}
					if strings.Contains(string(r.Body), authToken) || strings.Contains(string(r.Body), webhookSecret) {
						t.Errorf("error echoes a secret: %s", r.Body)
					}
				})
			}
		})
	}
}

// TestWebhookDeliveryFailed: a delivery that fails with no fallback is
// reported to the PMS; a 400 from the PMS fails the event at once, a 503
// is retried until it succeeds.
func TestWebhookDeliveryFailed(t *testing.T) {
	pms := newFakePMS(t, 400)
	h := startHub(t, hubtest.Postgres, nil)
	h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": pms.srv.URL, "secret": webhookSecret})
	// A patient with SMS only who texted STOP: the delivery fails
	// permanently (opted_out) with no fallback: delivery.failed.
	putPatient(h, "p-1001", "sms")
	if err := h.App.Core().Patients.SetOptOut(t.Context(), h.Practice.ID, hub.ChannelSMS, patientPhone, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Deliveries []struct{ ID string }
	}
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1001", "text": "Flu vaccines are in."}).JSON(t, &out)
	hubtest.WaitFor(t, 10*time.Second, "delivery.failed", func() bool { return len(pms.requests()) > 0 })
	got := pms.requests()[0]
	var ev struct {
		Type string
		Data struct{ Delivery, Patient, State, Reason string }
	}
	_ = json.Unmarshal(got.body, &ev)
	if ev.Type != "delivery.failed" || ev.Data.Delivery != out.Deliveries[0].ID || ev.Data.Patient != "p-1001" ||
		ev.Data.State != "failed" || ev.Data.Reason == "" {
		t.Errorf("event: %s", got.body)
	}
	hubtest.WaitFor(t, 5*time.Second, "the event failed", func() bool {
		es, err := h.App.Store().ListWebhookEvents(t.Context(), h.Practice.ID, 10)
		return err == nil && len(es) == 1 && es[0].State == hub.WebhookFailed && es[0].Attempts == 1
	})
	time.Sleep(500 * time.Millisecond)
	if n := len(pms.requests()); n != 1 {
		t.Errorf("a refused event was sent %d times", n)
	}

	// 503 then 200: retried (the hub's test backoff is 100 ms).
	pms.mu.Lock()
	pms.status = 503
	pms.mu.Unlock()
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1001", "text": "Clinic closed Monday."})
	hubtest.WaitFor(t, 10*time.Second, "a retry", func() bool { return len(pms.requests()) >= 3 })
	pms.mu.Lock()
	pms.status = 200
	pms.mu.Unlock()
	hubtest.WaitFor(t, 15*time.Second, "the event sent", func() bool {
		es, err := h.App.Store().ListWebhookEvents(t.Context(), h.Practice.ID, 10)
		return err == nil && len(es) == 2 && es[0].State == hub.WebhookSent && es[0].Attempts >= 2
	})
}

// TestReminderWithoutConfirmation: with confirm off, the reminder text does
// not ask for Y/N, the appointment's confirmation stays none, and a Y finds
// no reminder waiting (it is then an ordinary reply).
func TestReminderWithoutConfirmation(t *testing.T) {
	tw := twiliotest.NewServer(t, accountSID, authToken)
	h := startHub(t, hubtest.Postgres, tw, secondOffsets)
	h.MustDo(200, "PUT", "/v1/settings/sms", map[string]any{"account_sid": accountSID, "auth_token": authToken, "from": "+6498870000"})
	h.MustDo(200, "PUT", "/v1/settings/reminders", map[string]any{"offsets": []string{"8s"},
		"quiet_hours": map[string]string{"start": "00:00", "end": "00:00"}, "confirm": false})
	putPatient(h, "p-1001", "sms")
	h.MustDo(201, "PUT", "/v1/appointments/a-1", map[string]any{"patient": "p-1001",
		"start": nzTime(t, time.Now().Add(10*time.Second)), "duration_minutes": 15})
	hubtest.WaitFor(t, 20*time.Second, "the reminder SMS", func() bool { return len(tw.Sent()) > 0 })
	if body := tw.Sent()[0].Get("Body"); strings.Contains(body, "Reply Y") || !strings.Contains(body, "reminder") {
		t.Errorf("reminder without confirmation = %q", body)
	}
	if found, err := h.App.Core().Reminders.AnswerConfirmation(t.Context(), h.Practice.ID, patientPhone, true, ""); found || err != nil {
		t.Errorf("AnswerConfirmation = %v, %v; want no reminder waiting", found, err)
	}
	if a := getAppointment(t, h, "a-1"); a.Confirmation != "none" {
		t.Errorf("confirmation = %q, want none", a.Confirmation)
	}
}
