package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/templates"
)

type templateOut struct {
	Kind, Channel, Locale string
	Version               int
	Default               bool
	Subject, Body, HTML   string
	CreatedBy             string `json:"created_by"`
}

type previewOut struct {
	Kind, Channel, Locale   string
	Draft, Default          bool
	Version                 int
	Rendered, Subject, HTML string
	Segments, Units         int
	Encoding                string
	MaxSegments             int `json:"max_segments"`
}

type apiError struct {
	Error struct{ Code, Message, Field string }
}

func errorOf(t *testing.T, r *hubtest.Response) apiError {
	t.Helper()
	var e apiError
	r.JSON(t, &e)
	return e
}

// reminderMiSMS is Priya's te reo Māori reminder: 130 UTF-16 units with
// the sample data, so 2 segments of UCS-2.
const reminderMiSMS = "Kia ora {{.RecipientName}}, he whakamaumahara: {{.PracticeName}}, {{.AppointmentTime}} me {{.Clinician}}.\n{{.ConfirmInstructions}}"

// TestTemplateRefusals: each kind of bad template is refused with the
// status, code, field and message an editor needs to point at the problem.
func TestTemplateRefusals(t *testing.T) {
	h := start(t, hubtest.SQLite)
	svc := h.App.Core()
	// This practice allows 1-segment texts only.
	if err := svc.Settings.Put(context.Background(), hub.Actor{PracticeID: h.Practice.ID, ID: "test"}, hub.SettingSMS,
		hub.SMSSettings{AccountSID: "AC123", AuthToken: "secret", From: "+6421000000", MaxSegments: 1}); err != nil {
		t.Fatal(err)
	}
	twoSegments := "Kia ora {{.RecipientName}}, he whakamaumahara: {{.PracticeName}}, {{.AppointmentTime}}."
	tests := []struct {
		name    string
		path    string
		body    any
		status  int
		code    string
		field   string
		message string // substring
	}{
		{"parse error with its line", "/v1/templates/appointment_reminder/sms/en-NZ",
			map[string]string{"body": "Kia ora {{.RecipientName}},\nsee you {{.AppointmentTime}"},
			422, "invalid_template", "body", "body line 2: "},
		{"unknown field with its line", "/v1/templates/prescription_ready/sms/mi-NZ",
			map[string]string{"body": "Kia ora {{.RecipientName}},\nkei {{.Pharmacist}} ō rongoā"},
			422, "invalid_template", "body", "body line 2: unknown field .Pharmacist"},
		{"disallowed function", "/v1/templates/notice/portal/en-NZ",
			map[string]string{"body": "{{.Text}}\n\n{{call .Text}}"},
			422, "invalid_template", "body", `body line 3: function "call" is not allowed`},
		{"whole data set", "/v1/templates/notice/portal/en-NZ", map[string]string{"body": "{{.}}"},
			422, "invalid_template", "body", "body line 1:"},
		{"too many segments for the practice's limit", "/v1/templates/appointment_reminder/sms/mi-NZ",
			map[string]string{"body": twoSegments},
			422, "invalid_template", "body", "limit is 1"},
		{"subject on sms", "/v1/templates/notice/sms/en-NZ", map[string]string{"subject": "Hi", "body": "{{.Text}}"},
			422, "invalid_template", "subject", "only email templates have a subject"},
		{"html on portal", "/v1/templates/notice/portal/en-NZ", map[string]string{"html": "<p>{{.Text}}</p>", "body": "{{.Text}}"},
			422, "invalid_template", "html", "only email"},
		{"email without a subject", "/v1/templates/notice/email/en-NZ", map[string]string{"body": "{{.Text}}"},
			422, "invalid_template", "subject", "need a subject"},
		{"unknown field in the email html", "/v1/templates/notice/email/en-NZ",
			map[string]string{"subject": "From {{.PracticeName}}", "body": "{{.Text}}", "html": "<p>\n{{.Diagnosis}}</p>"},
			422, "invalid_template", "html", "html line 2: unknown field .Diagnosis"},
		{"empty body", "/v1/templates/notice/sms/en-NZ", map[string]string{"body": "  "},
			422, "invalid_template", "body", "required"},
		{"unknown kind", "/v1/templates/lab_result/sms/en-NZ", map[string]string{"body": "x"},
			400, "unknown_kind", "kind", `"lab_result"`},
		{"unknown channel", "/v1/templates/notice/fax/en-NZ", map[string]string{"body": "x"},
			400, "unknown_channel", "channel", `"fax"`},
		{"malformed locale", "/v1/templates/notice/sms/english_NZ", map[string]string{"body": "x"},
			400, "invalid_locale", "locale", "not a language tag"},
		{"unknown JSON field", "/v1/templates/notice/sms/en-NZ", map[string]string{"body": "{{.Text}}", "text": "x"},
			400, "unknown_field", "text", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.Do("PUT", tt.path, "", tt.body)
			e := errorOf(t, r)
			if r.Status != tt.status || e.Error.Code != tt.code || e.Error.Field != tt.field ||
				!strings.Contains(e.Error.Message, tt.message) {
				t.Errorf("PUT %s: %d %s; want %d, code %s, field %s, message containing %q",
					tt.path, r.Status, r.Body, tt.status, tt.code, tt.field, tt.message)
			}
		})
	}
	// Nothing was saved.
	var list struct{ Templates []templateOut }
	h.MustDo(200, "GET", "/v1/templates", nil).JSON(t, &list)
	for _, tp := range list.Templates {
		if !tp.Default {
			t.Errorf("a refused template was saved: %+v", tp)
		}
	}
	// The two-segment text fits a practice on the default limit (4).
	_, other := h.NewPractice("Rimu Medical", hub.ModeLive)
	if r := h.Do("PUT", "/v1/templates/appointment_reminder/sms/mi-NZ", other, map[string]string{"body": twoSegments}); r.Status != 200 {
		t.Errorf("practice without a limit: %d %s", r.Status, r.Body)
	}
	// Unknown path segments are refused on GET and for versions too.
	if r := h.Do("GET", "/v1/templates/notice/fax/en-NZ/versions", "", nil); r.Status != 400 || errorOf(t, r).Error.Field != "channel" {
		t.Errorf("versions of an unknown channel: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/v1/templates/lab_result/sms/en-NZ", "", nil); r.Status != 400 || errorOf(t, r).Error.Field != "kind" {
		t.Errorf("GET an unknown kind: %d %s", r.Status, r.Body)
	}
}

// TestTemplateVersions: each save is a new version, the history lists them
// newest first, saving the same text again adds none, and the list shows
// which templates are the practice's and which are defaults.
func TestTemplateVersions(t *testing.T) {
	h := start(t, hubtest.Postgres)
	path := "/v1/templates/appointment_reminder/sms/mi-NZ"

	var got templateOut
	h.MustDo(200, "GET", path, nil).JSON(t, &got)
	def, _ := templates.Default("appointment_reminder", "sms", "mi-NZ")
	if !got.Default || got.Version != 0 || got.Body != def.Body || got.Locale != "mi-NZ" {
		t.Fatalf("GET before any save: %+v; want the built-in default", got)
	}
	var v []templateOut
	for i, body := range []string{reminderMiSMS, strings.Replace(reminderMiSMS, "Kia ora", "Tēnā koe", 1)} {
		var out templateOut
		h.MustDo(200, "PUT", path, map[string]string{"body": body}).JSON(t, &out)
		if out.Version != i+1 || out.Default || out.Body != body || out.Kind != "appointment_reminder" || out.Locale != "mi-NZ" {
			t.Fatalf("PUT %d: %+v", i+1, out)
		}
		v = append(v, out)
	}
	// The same text again: still version 2. CRLF from a browser is the same text.
	var same templateOut
	h.MustDo(200, "PUT", "/v1/templates/appointment_reminder/sms/mi-nz",
		map[string]string{"body": strings.ReplaceAll(v[1].Body, "\n", "\r\n")}).JSON(t, &same)
	if same.Version != 2 {
		t.Errorf("saving the current text again: version %d, want 2", same.Version)
	}
	h.MustDo(200, "GET", path, nil).JSON(t, &got)
	if got.Version != 2 || got.Default || got.Body != v[1].Body || !strings.HasPrefix(got.CreatedBy, "key:") {
		t.Errorf("GET after saves: %+v", got)
	}
	var hist struct{ Versions []templateOut }
	h.MustDo(200, "GET", path+"/versions", nil).JSON(t, &hist)
	if len(hist.Versions) != 2 || hist.Versions[0].Version != 2 || hist.Versions[1].Version != 1 ||
		hist.Versions[1].Body != reminderMiSMS {
		t.Errorf("history: %+v", hist.Versions)
	}
	h.MustDo(200, "GET", "/v1/templates/notice/sms/en-NZ/versions", nil).JSON(t, &hist)
	if len(hist.Versions) != 0 {
		t.Errorf("history of a template never saved: %+v", hist.Versions)
	}

	var list struct{ Templates []templateOut }
	h.MustDo(200, "GET", "/v1/templates", nil).JSON(t, &list)
	want := len(templates.Kinds()) * len(templates.Channels()) * len(templates.Locales())
	if len(list.Templates) != want {
		t.Errorf("list: %d templates, want %d", len(list.Templates), want)
	}
	for _, tp := range list.Templates {
		mine := tp.Kind == "appointment_reminder" && tp.Channel == "sms" && tp.Locale == "mi-NZ"
		if mine && (tp.Default || tp.Version != 2) || !mine && (!tp.Default || tp.Version != 0) {
			t.Errorf("list entry %+v", tp)
		}
	}
}

// TestTemplatePreview: a draft is rendered with sample data and measured
// as an SMS, checked like a save, and never saved.
func TestTemplatePreview(t *testing.T) {
	h := start(t, hubtest.SQLite)
	preview := func(body any) (*hubtest.Response, previewOut) {
		t.Helper()
		r := h.Do("POST", "/v1/templates/preview", "", body)
		var out previewOut
		if r.Status == 200 {
			r.JSON(t, &out)
		}
		return r, out
	}

	// Priya's te reo Māori draft: macrons make it UCS-2, 130 units is 2 segments.
	r, out := preview(map[string]any{"kind": "appointment_reminder", "channel": "sms", "locale": "mi-NZ", "body": reminderMiSMS})
	want := "Kia ora Aroha, he whakamaumahara: Kōwhai Health, Rāpare 4 Hakihea 10:30 me Dr Aroha Smith.\n" +
		"Whakautu Y hei whakaū, N hei whakakore."
	if r.Status != 200 || out.Rendered != want || out.Segments != 2 || out.Encoding != "UCS-2" || out.Units != 130 ||
		!out.Draft || out.MaxSegments != templates.DefaultMaxSegments {
		t.Errorf("preview of a mi-NZ draft: %d %s", r.Status, r.Body)
	}

	// Sample values replaced; RecipientName follows PatientFirstName.
	_, out = preview(map[string]any{"kind": "appointment_reminder", "channel": "sms", "locale": "mi-NZ", "body": reminderMiSMS,
		"data": map[string]any{"PatientFirstName": "Hemi", ".Clinician": "Dr Wiremu Tāwhiri"}})
	if !strings.HasPrefix(out.Rendered, "Kia ora Hemi, ") || !strings.Contains(out.Rendered, " me Dr Wiremu Tāwhiri.") {
		t.Errorf("preview with data: %q", out.Rendered)
	}
	_, out = preview(map[string]any{"kind": "notice", "channel": "sms", "locale": "en-NZ", "body": "Hi {{.RecipientName}}",
		"data": map[string]any{"IsGuardian": true, "RecipientName": "Mere"}})
	if out.Rendered != "Hi Mere" || out.Encoding != "GSM-7" || out.Segments != 1 {
		t.Errorf("GSM-7 preview with a guardian: %+v", out)
	}

	// Without a draft: the current template (the default here).
	_, out = preview(map[string]any{"kind": "notice", "channel": "sms", "locale": "mi-NZ"})
	if out.Draft || !out.Default || out.Rendered != templates.SampleData("mi-NZ").Text {
		t.Errorf("preview of the default: %+v", out)
	}
	// Email: subject and HTML come back too; parts left out keep the current text.
	_, out = preview(map[string]any{"kind": "notice", "channel": "email", "locale": "en-NZ",
		"subject": "News from {{.PracticeName}}", "html": "<p>{{.Text}}</p><p>{{.PracticeName}}</p>"})
	if out.Subject != "News from Kōwhai Health" || out.HTML != "<p>"+templates.SampleData("en-NZ").Text+"</p><p>Kōwhai Health</p>" ||
		!strings.Contains(out.Rendered, "Wellington Anniversary Day") || out.Segments != 0 {
		t.Errorf("email preview: %+v", out)
	}

	refusals := []struct {
		name                 string
		body                 map[string]any
		status               int
		code, field, message string
	}{
		{"unknown field in a draft", map[string]any{"kind": "notice", "channel": "sms", "locale": "mi-NZ",
			"body": "Kia ora\n{{.Pharmacist}}"}, 422, "invalid_template", "body", "body line 2: unknown field .Pharmacist"},
		{"subject on an sms draft", map[string]any{"kind": "notice", "channel": "sms", "locale": "en-NZ",
			"subject": "x", "body": "{{.Text}}"}, 422, "invalid_template", "subject", "only email"},
		{"unknown sample field", map[string]any{"kind": "notice", "channel": "sms", "locale": "en-NZ",
			"data": map[string]any{"Surname": "Ngata"}}, 400, "unknown_field", "data.Surname", "not a template field"},
		{"wrong sample type", map[string]any{"kind": "notice", "channel": "sms", "locale": "en-NZ",
			"data": map[string]any{"IsGuardian": "yes"}}, 400, "invalid_type", "data.IsGuardian", "true or false"},
		{"unknown kind", map[string]any{"kind": "lab_result", "channel": "sms", "locale": "en-NZ"}, 400, "unknown_kind", "kind", "lab_result"},
		{"missing channel", map[string]any{"kind": "notice", "locale": "en-NZ"}, 400, "missing_field", "channel", "required"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := preview(tt.body)
			e := errorOf(t, r)
			if r.Status != tt.status || e.Error.Code != tt.code || e.Error.Field != tt.field || !strings.Contains(e.Error.Message, tt.message) {
				t.Errorf("%d %s; want %d %s %s %q", r.Status, r.Body, tt.status, tt.code, tt.field, tt.message)
			}
		})
	}

	// Previews saved nothing; a saved template is what a plain preview shows.
	var hist struct{ Versions []templateOut }
	h.MustDo(200, "GET", "/v1/templates/appointment_reminder/sms/mi-NZ/versions", nil).JSON(t, &hist)
	if len(hist.Versions) != 0 {
		t.Errorf("preview saved a version: %+v", hist.Versions)
	}
	h.MustDo(200, "PUT", "/v1/templates/appointment_reminder/sms/mi-NZ", map[string]string{"body": reminderMiSMS})
	_, out = preview(map[string]any{"kind": "appointment_reminder", "channel": "sms", "locale": "mi-NZ"})
	if out.Draft || out.Default || out.Version != 1 || out.Rendered != want || out.Segments != 2 {
		t.Errorf("preview of the saved template: %+v", out)
	}
}

// TestPracticeTemplateUsedForNotice: a notice to a mi-NZ patient is sent
// with the practice's mi-NZ SMS template, and its delivery records the
// version; an en-NZ patient still gets the built-in wording (version 0).
func TestPracticeTemplateUsedForNotice(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			h := start(t, backend)
			key, err := h.App.Core().Directory.CreateAPIKey(context.Background(), h.Practice.ID, hub.ModeTest, "template tests")
			if err != nil {
				t.Fatal(err)
			}
			h.MustDo(200, "PUT", "/v1/templates/notice/sms/mi-NZ", map[string]string{"body": "{{.Text}}"})
			h.MustDo(200, "PUT", "/v1/templates/notice/sms/mi-NZ", map[string]string{"body": "Kia ora {{.PatientFirstName}}: {{.Text}}"})
			if r := h.Do("PUT", "/v1/patients/p-1", key, aroha); r.Status != 201 { // mi-NZ
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			hemi := map[string]any{"given_name": "Hemi", "phone": "+64219876543", "channels": []string{"sms"}, "locale": "en-NZ"}
			if r := h.Do("PUT", "/v1/patients/p-2", key, hemi); r.Status != 201 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			send := func(patient, text string) deliveryOut {
				t.Helper()
				r := h.Do("POST", "/v1/notices", key, map[string]any{"patient": patient, "text": text, "channels": []string{"sms"}})
				var out struct{ Deliveries []deliveryOut }
				r.JSON(t, &out)
				if r.Status != 202 || len(out.Deliveries) != 1 {
					t.Fatalf("POST /v1/notices: %d %s", r.Status, r.Body)
				}
				return waitState(t, h, key, out.Deliveries[0].ID, "sent")
			}
			dMi := send("p-1", "Kei te tatari ō hua ki te tomokanga.")
			dEn := send("p-2", "Your results are in the portal.")

			versions := map[string]int{}
			for _, id := range []string{dMi.ID, dEn.ID} {
				var d struct {
					TemplateVersion *int `json:"template_version"`
				}
				h.Do("GET", "/v1/deliveries/"+id, key, nil).JSON(t, &d)
				if d.TemplateVersion == nil {
					t.Fatalf("delivery %s has no template_version", id)
				}
				versions[id] = *d.TemplateVersion
			}
			if versions[dMi.ID] != 2 || versions[dEn.ID] != 0 {
				t.Errorf("template_version: mi-NZ %d (want 2), en-NZ %d (want 0)", versions[dMi.ID], versions[dEn.ID])
			}
			var ob struct {
				Items []struct{ Channel, To, Text, Delivery string }
			}
			h.Do("GET", "/v1/outbox", key, nil).JSON(t, &ob)
			texts := map[string]string{}
			for _, it := range ob.Items {
				texts[it.Delivery] = it.Text
			}
			if got := texts[dMi.ID]; got != "Kia ora Aroha: Kei te tatari ō hua ki te tomokanga." {
				t.Errorf("mi-NZ patient's SMS: %q", got)
			}
			if got := texts[dEn.ID]; got != "Your results are in the portal." {
				t.Errorf("en-NZ patient's SMS: %q", got)
			}
		})
	}
}

// TestTemplateTenancy: another practice sees none of a practice's
// templates, and its own saves number from 1.
func TestTemplateTenancy(t *testing.T) {
	h := start(t, hubtest.SQLite)
	path := "/v1/templates/notice/sms/mi-NZ"
	h.MustDo(200, "PUT", path, map[string]string{"body": "A: {{.Text}}"})
	h.MustDo(200, "PUT", path, map[string]string{"body": "A2: {{.Text}}"})
	_, keyB := h.NewPractice("Rimu Medical", hub.ModeLive)

	var got templateOut
	h.Do("GET", path, keyB, nil).JSON(t, &got)
	if !got.Default || got.Version != 0 || strings.Contains(got.Body, "A") {
		t.Errorf("practice B's GET: %+v", got)
	}
	var hist struct{ Versions []templateOut }
	h.Do("GET", path+"/versions", keyB, nil).JSON(t, &hist)
	if len(hist.Versions) != 0 {
		t.Errorf("practice B's history: %+v", hist.Versions)
	}
	var list struct{ Templates []templateOut }
	h.Do("GET", "/v1/templates", keyB, nil).JSON(t, &list)
	for _, tp := range list.Templates {
		if !tp.Default {
			t.Errorf("practice B's list shows %+v", tp)
		}
	}
	var pv previewOut
	h.Do("POST", "/v1/templates/preview", keyB, map[string]string{"kind": "notice", "channel": "sms", "locale": "mi-NZ"}).JSON(t, &pv)
	if !pv.Default || strings.HasPrefix(pv.Rendered, "A") {
		t.Errorf("practice B's preview: %+v", pv)
	}
	var out templateOut
	h.Do("PUT", path, keyB, map[string]string{"body": "B: {{.Text}}"}).JSON(t, &out)
	if out.Version != 1 {
		t.Errorf("practice B's first save: version %d, want 1", out.Version)
	}
	h.MustDo(200, "GET", path, nil).JSON(t, &got)
	if got.Version != 2 || got.Body != "A2: {{.Text}}" {
		t.Errorf("practice A's template after B saved: %+v", got)
	}
}

// TestTemplateFields lists the documented variables with examples.
func TestTemplateFields(t *testing.T) {
	h := start(t, hubtest.SQLite)
	var out struct{ Fields []templates.FieldDoc }
	r := h.MustDo(200, "GET", "/v1/templates/fields", nil)
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	byName := map[string]templates.FieldDoc{}
	for _, f := range out.Fields {
		byName[f.Name] = f
	}
	if len(out.Fields) != len(templates.Fields()) || byName[".PatientFirstName"].Example != "Aroha" ||
		byName[".IsGuardian"].Type != "yes/no" || byName[".AppointmentTime"].Description == "" {
		t.Errorf("fields: %s", r.Body)
	}
	if r := h.Do("GET", "/v1/templates/fields", "-", nil); r.Status != 401 {
		t.Errorf("fields without a key: %d", r.Status)
	}
}
