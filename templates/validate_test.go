package templates

import (
	"errors"
	"strings"
	"testing"
)

func sms(body string) Template {
	return Template{Kind: KindAppointmentReminder, Channel: ChannelSMS, Locale: LocaleEnNZ, Body: body}
}

func email(subject, body, html string) Template {
	return Template{Kind: KindAppointmentReminder, Channel: ChannelEmail, Locale: LocaleEnNZ, Subject: subject, Body: body, HTML: html}
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name   string
		tmpl   Template
		max    int
		field  string
		line   int
		reason string // substring of Reason
	}{
		{"parse error with line", sms("Kia ora {{.RecipientName}},\nsee you {{.AppointmentTime}"), 0, "body", 2, "bad character"},
		{"unclosed if", sms("{{if .IsGuardian}}\nfor {{.PatientFirstName}}"), 0, "body", 2, "unexpected EOF"},
		{"unknown field with line", sms("Kia ora {{.RecipientName}},\nfrom {{.Pharmacist}}"), 0, "body", 2, "unknown field .Pharmacist"},
		{"unknown field in if", sms("Hi\n\n{{if .IsUrgent}}now{{end}}"), 0, "body", 3, "unknown field .IsUrgent"},
		{"field of a text field", sms("{{.PracticeName.Short}}"), 0, "body", 1, "unknown field .PracticeName.Short: .PracticeName is text"},
		{"field of dot inside with", sms("{{with .Clinician}}\n{{.Name}}{{end}}"), 0, "body", 2, "unknown field .Name: . is text"},
		{"unknown field on $", sms("{{with .Clinician}}{{$.Doctor}}{{end}}"), 0, "body", 1, "unknown field $.Doctor"},
		{"field of a variable", sms("{{$p := .PracticeName}}\n{{$p.Short}}"), 0, "body", 2, "unknown field $p.Short"},
		{"unknown field in else branch", sms("{{if .IsGuardian}}a{{else}}\n\n{{.Guardian}}{{end}}"), 0, "body", 3, "unknown field .Guardian"},
		{"unknown field in function argument", sms("{{upper .Surname}}"), 0, "body", 1, "unknown field .Surname"},
		{"unknown field in parenthesised pipeline", sms("{{if (eq .Pickup .Collect)}}x{{end}}"), 0, "body", 1, "unknown field .Collect"},
		{"unexported-looking field", sms("{{.text}}"), 0, "body", 1, "unknown field .text"},
		{"define", sms("Hi\n{{define \"x\"}}secret{{end}}"), 0, "body", 2, "{{define}}"},
		{"template", sms("{{template \"x\" .}}"), 0, "body", 1, "{{template}}"},
		{"block", sms("a\nb\n{{block \"x\" .}}c{{end}}"), 0, "body", 3, "{{block}}"},
		{"range", sms("{{range .Text}}x{{end}}"), 0, "body", 1, "{{range}} is not allowed"},
		{"call", sms("{{call .Text}}"), 0, "body", 1, `function "call" is not allowed`},
		{"undefined function", sms("Hi\n{{env \"HOME\"}}"), 0, "body", 2, `function "env" is not allowed`},
		{"js builtin", sms("{{.Text | js}}"), 0, "body", 1, `function "js" is not allowed`},
		{"index builtin", sms("{{index .Text 0}}"), 0, "body", 1, `function "index" is not allowed`},
		{"disallowed function as argument", sms("{{upper urlquery}}"), 0, "body", 1, `function "urlquery" is not allowed`},
		{"whole data set", sms("{{.}}"), 0, "body", 1, "whole data set"},
		{"whole data set via $", sms("{{with .Clinician}}{{$}}{{end}}"), 0, "body", 1, "whole data set"},
		{"whole data set via printf", sms("{{printf \"%v\" .}}"), 0, "body", 1, "whole data set"},
		{"too many segments", sms(strings.Repeat("Kia ora {{.RecipientName}}. ", 8)), 2, "body", 0, "segments (UCS-2"},
		{"too many segments with default limit", sms(strings.Repeat("Kia ora {{.RecipientName}}. ", 12)), 0, "body", 0, "limit is 4"},
		{"subject on sms", Template{Kind: KindNotice, Channel: ChannelSMS, Locale: LocaleEnNZ, Subject: "Hi", Body: "{{.Text}}"}, 0, "subject", 0, "only email"},
		{"html on portal", Template{Kind: KindNotice, Channel: ChannelPortal, Locale: LocaleEnNZ, HTML: "<p>x</p>", Body: "{{.Text}}"}, 0, "html", 0, "only email"},
		{"body required", sms("  \n"), 0, "body", 0, "required"},
		{"email needs a subject", email("", "Hi", ""), 0, "subject", 0, "need a subject"},
		{"unknown field in subject", email("Reminder\n{{.When}}", "Hi", ""), 0, "subject", 2, "unknown field .When"},
		{"unknown field in html", email("Hi", "Hi", "<p>\n{{.Nope}}</p>"), 0, "html", 2, "unknown field .Nope"},
		{"unsafe html", email("Hi", "Hi", "<p>Hi</p>\n<a href=\"{{.PortalURL}}"), 0, "html", 0, "ends in a non-text context"},
		{"unknown kind", Template{Kind: "lab_result", Channel: ChannelSMS, Locale: LocaleEnNZ, Body: "x"}, 0, "kind", 0, `unknown kind "lab_result"`},
		{"unknown channel", Template{Kind: KindNotice, Channel: "fax", Locale: LocaleEnNZ, Body: "x"}, 0, "channel", 0, `unknown channel "fax"`},
		{"bad locale", Template{Kind: KindNotice, Channel: ChannelSMS, Locale: "english", Body: "x"}, 0, "locale", 0, "not a language tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.tmpl, tt.max)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || ve.Line != tt.line || !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("Validate() = %#v (%q), want field %q line %d reason containing %q", ve, ve.Error(), tt.field, tt.line, tt.reason)
			}
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	err := Validate(sms("Kia ora {{.RecipientName}},\nfrom {{.Pharmacist}}"), 0)
	if got, want := err.Error(), "body line 2: unknown field .Pharmacist"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	err = Validate(Template{Kind: KindNotice, Channel: ChannelSMS, Locale: LocaleEnNZ, Subject: "x", Body: "x"}, 0)
	if got, want := err.Error(), "subject: only email templates have a subject"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		tmpl Template
	}{
		{"plain text", sms("Kōwhai Health is closed today.")},
		{"allowed functions", sms(`{{upper .PracticeName}} {{.Clinician | default "your doctor" | lower}} {{if and .IsGuardian (eq .Pickup "pharmacy")}}x{{end}} {{printf "%s" .Text}} {{len .Text}}`)},
		{"dot inside with", sms("{{with .Clinician}}with {{.}} at {{$.PracticeName}}{{end}}")},
		{"variables", sms("{{$who := .RecipientName}}{{if .IsGuardian}}{{$who = .PatientFirstName}}{{end}}Hi {{$who}}")},
		{"else with", sms("{{with .Location}}at {{.}}{{else with .PracticeName}}at {{.}}{{end}}")},
		{"comment", sms("{{/* the reminder */}}Hi {{.RecipientName}}")},
		{"trim markers", sms("Hi {{- .RecipientName -}} !")},
		{"exactly at the segment limit", sms(strings.Repeat("a", 153*DefaultMaxSegments))},
		{"added locale", Template{Kind: KindNotice, Channel: ChannelSMS, Locale: "sm-WS", Body: "Tālofa {{.RecipientName}}. {{.Text}}"}},
		{"email without html", email("Reminder from {{.PracticeName}}", "Hi {{.RecipientName}}", "")},
		{"email with html link", email("Hi", "Hi", `<a href="{{.PortalURL}}">{{.PracticeName}}</a>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.tmpl, 0); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

func TestRenderRefusesWhatValidateRefuses(t *testing.T) {
	for _, body := range []string{"{{.Pharmacist}}", `{{define "x"}}{{end}}`, "{{call .Text}}", "{{.}}"} {
		if _, err := Render(sms(body), SampleData(LocaleEnNZ)); err == nil {
			t.Errorf("Render(%q) succeeded", body)
		}
	}
}

func TestLocales(t *testing.T) {
	tests := []struct {
		name, tag, canonical string
		ok                   bool
	}{
		{"en-NZ", "en-NZ", "en-NZ", true},
		{"lower case region", "mi-nz", "mi-NZ", true},
		{"language only", "MI", "mi", true},
		{"Samoan", "sm-WS", "sm-WS", true},
		{"script and region", "zh-hant-tw", "zh-Hant-TW", true},
		{"numeric region", "es-419", "es-419", true},
		{"variant", "de-CH-1996", "de-CH-1996", true},
		{"empty", "", "", false},
		{"underscore", "en_NZ", "", false},
		{"word", "english", "", false},
		{"trailing dash", "en-", "", false},
		{"injection", "en-NZ/../x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidLocale(tt.tag); got != tt.ok {
				t.Errorf("ValidLocale(%q) = %v", tt.tag, got)
			}
			got, ok := CanonicalLocale(tt.tag)
			if ok != tt.ok || got != tt.canonical {
				t.Errorf("CanonicalLocale(%q) = %q, %v; want %q, %v", tt.tag, got, ok, tt.canonical, tt.ok)
			}
		})
	}
}
