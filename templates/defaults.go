package templates

import (
	"embed"
	"strings"
)

// defaultFS holds the built-in templates, one file per part:
//
//	defaults/<locale>/<kind>.sms.tmpl
//	defaults/<locale>/<kind>.portal.tmpl
//	defaults/<locale>/<kind>.email.subject.tmpl
//	defaults/<locale>/<kind>.email.txt.tmpl
//	defaults/<locale>/<kind>.email.html.tmpl
//
//go:embed defaults
var defaultFS embed.FS

// Default returns the built-in template for kind, channel and locale
// (Version 0). Locale must match exactly ("en-NZ", "mi-NZ"); callers fall
// back to LocaleEnNZ themselves when a practice's locale has no default.
// The final newline of each file is dropped, so an SMS does not end in one.
//
// The defaults never name a medicine or a reason for a visit: a
// secure_message_notice carries no message content, and prescription_ready
// names only where to collect.
func Default(kind, channel, locale string) (Template, bool) {
	if !contains(Kinds(), kind) || !contains(Channels(), channel) || !contains(Locales(), locale) {
		return Template{}, false
	}
	t := Template{Kind: kind, Channel: channel, Locale: locale}
	base := "defaults/" + locale + "/" + kind + "."
	var ok bool
	switch channel {
	case ChannelEmail:
		var okS, okH bool
		t.Subject, okS = readDefault(base + "email.subject.tmpl")
		t.Body, ok = readDefault(base + "email.txt.tmpl")
		t.HTML, okH = readDefault(base + "email.html.tmpl")
		ok = ok && okS && okH
	default:
		t.Body, ok = readDefault(base + channel + ".tmpl")
	}
	if !ok {
		return Template{}, false
	}
	return t, true
}

func readDefault(name string) (string, bool) {
	b, err := defaultFS.ReadFile(name)
	if err != nil {
		return "", false
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), true
}
