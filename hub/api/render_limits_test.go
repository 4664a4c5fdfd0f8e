package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/templates"
)

// amplification is the template: nested printf with a
// million-wide format, 100 MB from under 200 bytes before the limits.
const amplification = `{{printf "%01000000s" (printf "%01000000s" (printf "%01000000s" (printf "%01000000d" 7)))}}` +
	`{{printf "%01000000d" 7}}{{printf "%01000000d" 7}}`

// doubling grows a value by reuse alone, without any wide format: 2^20
// copies of the notice text.
var doubling = "{{$a := print .Text}}" + strings.Repeat("{{$a = print $a $a}}", 20) + "{{$a}}"

// TestRenderLimitsAtSaveAndPreview: templates that would render beyond
// the limits are refused with 422 invalid_template and the reason, when
// saved and when previewed, before anything large is rendered: the wide
// format by the format check, the doubling at the first value over the
// portal's byte limit.
func TestRenderLimitsAtSaveAndPreview(t *testing.T) {
	h := start(t, hubtest.SQLite)
	tests := []struct {
		name, body, reason string
	}{
		{"nested wide printf", amplification, `body line 1: printf verb "%01000000s": width or precision over 64`},
		{"doubling by reuse", doubling, "body line 1: too long: over 16384 bytes, the limit for a portal message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []*hubtest.Response{
				h.Do("PUT", "/v1/templates/notice/portal/en-NZ", "", map[string]any{"body": tt.body}),
				h.Do("POST", "/v1/templates/preview", "", map[string]any{"kind": "notice", "channel": "portal", "locale": "en-NZ", "body": tt.body}),
			} {
				e := errorOf(t, r)
				if r.Status != 422 || e.Error.Code != "invalid_template" || e.Error.Field != "body" || !strings.HasPrefix(e.Error.Message, tt.reason) {
					t.Errorf("%d %s, want 422 invalid_template: %s", r.Status, r.Body, tt.reason)
				}
			}
		})
	}
	var list []templateOut
	r := h.MustDo(200, "GET", "/v1/templates/notice/portal/en-NZ/versions", nil)
	r.JSON(t, &struct{ Versions *[]templateOut }{&list})
	if len(list) != 0 {
		t.Errorf("a refused template was saved: %+v", list)
	}
}

// TestRenderTooLargeFailsDelivery: a portal template stored before the
// limits existed (written to the store directly: the API refuses it)
// renders a notice's text ten times. With a long text, the inbox item
// would be 80 KB: the delivery fails for good with render_too_large, and
// no inbox item is kept.
func TestRenderTooLargeFailsDelivery(t *testing.T) {
	h := start(t, hubtest.Postgres)
	old := &hub.PracticeTemplate{PracticeID: h.Practice.ID, Kind: templates.KindNotice, Channel: templates.ChannelPortal,
		Locale: templates.LocaleEnNZ, Body: strings.Repeat("{{.Text}}\n", 10), CreatedBy: "before-limits", Created: time.Now()}
	if err := h.App.Store().PutTemplate(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Hemi", "channels": []string{"portal"}})

	// A short notice fits: the template itself works.
	var out struct{ Deliveries []deliveryOut }
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": "Flu vaccines are in."}).JSON(t, &out)
	waitState(t, h, "", out.Deliveries[0].ID, "sent")

	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": strings.Repeat("🌿", 2000)}).JSON(t, &out)
	d := waitState(t, h, "", out.Deliveries[0].ID, "failed")
	want := "render_too_large: body: too long: over 16384 bytes, the limit for a portal message"
	if d.Attempts != 1 || strOf(d.LastError) != want {
		t.Errorf("delivery %+v, last error %q, want %q", d, strOf(d.LastError), want)
	}
	var inbox struct{ Items []struct{ Text string } }
	h.MustDo(200, "GET", "/v1/patients/p-1/inbox", nil).JSON(t, &inbox)
	if len(inbox.Items) != 1 {
		t.Errorf("%d inbox items, want only the short notice", len(inbox.Items))
	}
}
