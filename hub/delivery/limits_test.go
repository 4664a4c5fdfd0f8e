package delivery_test

import (
	"testing"

	"github.com/karerehub/karere/hub/delivery"
	"github.com/karerehub/karere/templates"
)

// TestMaxNoticeTextMatchesTemplates: templates.Validate checks every
// template against a notice text of templates.MaxTextChars characters, so
// that a saved template never goes over a render limit with the longest
// text the API accepts. The two limits must stay equal.
func TestMaxNoticeTextMatchesTemplates(t *testing.T) {
	if delivery.MaxNoticeText != templates.MaxTextChars {
		t.Fatalf("delivery.MaxNoticeText = %d, templates.MaxTextChars = %d: change both", delivery.MaxNoticeText, templates.MaxTextChars)
	}
}
