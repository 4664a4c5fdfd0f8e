package hub

import "time"

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
