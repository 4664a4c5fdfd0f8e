package hub

import (
	"context"
	"time"
)

// TemplateStore is the part of Store for practice templates. A practice's
// template for one (kind, channel, locale) is a list of versions 1, 2, 3...;
// the highest is current. Versions are never changed or deleted, so a
// delivery's TemplateVersion always names the wording it was sent with.
type TemplateStore interface {
	// PutTemplate stores t as the next version of its (PracticeID, Kind,
	// Channel, Locale): it sets t.Version to the previous highest + 1 (1 for
	// the first), and fills in an empty ID and a zero Created. Concurrent
	// calls for the same key get distinct versions.
	PutTemplate(ctx context.Context, t *PracticeTemplate) error
	// CurrentTemplate returns the highest version, or ErrNoRows when the
	// practice has none for this key.
	CurrentTemplate(ctx context.Context, practiceID, kind, channel, locale string) (*PracticeTemplate, error)
	// ListTemplateVersions lists the versions of one key, newest first
	// (limit 0: the store's default page size).
	ListTemplateVersions(ctx context.Context, practiceID, kind, channel, locale string, limit int) ([]PracticeTemplate, error)
	// ListTemplates lists the current version of each of the practice's
	// templates, ordered by kind, channel and locale.
	ListTemplates(ctx context.Context, practiceID string) ([]PracticeTemplate, error)
	// SetDeliveryTemplateVersion records which template version a delivery
	// was rendered from (0: a built-in default).
	SetDeliveryTemplateVersion(ctx context.Context, deliveryID string, version int) error
}

// PracticeTemplate is one saved version of a practice's template. Subject
// and HTML are for email only.
type PracticeTemplate struct {
	ID         string
	PracticeID string
	Kind       string
	Channel    string
	Locale     string // canonical case: "mi-NZ"
	Subject    string
	Body       string
	HTML       string
	Version    int
	Created    time.Time
	CreatedBy  string // the actor who saved it: "key:<id>", "staff:<id>"
}

// PrefixTemplate is the id prefix of a template version.
const PrefixTemplate = "tpl"
