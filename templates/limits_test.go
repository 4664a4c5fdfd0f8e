package templates

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func portal(body string) Template {
	return Template{Kind: KindNotice, Channel: ChannelPortal, Locale: LocaleEnNZ, Body: body}
}

// allocated returns the bytes f allocates, an upper bound on its peak.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// doubled is body with {{$a = print $a $a}} (or, inside with, {{with
// print . .}}) n times: no wide verb, yet 2^n times the text.
func doubled(start, step, end string, n int) string {
	return start + strings.Repeat(step, n) + end
}

// TestAmplificationRefused: templates that render megabytes from a few
// hundred bytes are refused quickly, without allocating much, whether the
// format does it (refused when checked) or reuse does (stopped at the
// limit while rendering).
func TestAmplificationRefused(t *testing.T) {
	tests := []struct {
		name     string
		tmpl     Template
		field    string
		line     int
		reason   string
		sentinel error // nil: refused when checked, before rendering
	}{
		{"review: printf %01000000d, ten and a hundred times",
			sms(`{{$a := printf "%01000000d" 0}}{{$b := printf "%s%s%s%s%s%s%s%s%s%s" $a $a $a $a $a $a $a $a $a $a}}{{printf "%s%s%s%s%s%s%s%s%s%s" $b $b $b $b $b $b $b $b $b $b}}`),
			"body", 1, `printf verb "%01000000d": width or precision over 64`, nil},
		{"nested printf %01000000d",
			portal("Kia ora\n{{printf \"%s%s\" (printf \"%01000000d\" 0) (printf \"%01000000d\" 1)}}"),
			"body", 2, "width or precision over 64", nil},
		{"printf precision", portal(`{{printf "%.1000000d" 7}}`), "body", 1, "width or precision over 64", nil},
		{"printf argument index", portal(`{{printf "%[1]s%[1]s%[1]s%[1]s%[1]s%[1]s%[1]s%[1]s" .Text}}`), "body", 1, "argument index", nil},
		{"doubling a variable", sms(doubled(`{{$a := printf "%064d" 0}}`, `{{$a = print $a $a}}`, `{{$a}}`, 30)),
			"body", 1, "too long: over 16384 bytes, the limit for an SMS", ErrTooLarge},
		{"doubling dot", portal(doubled("{{with .Text}}\n", "{{with print . .}}", strings.Repeat("{{.}}{{end}}", 31), 30)),
			"body", 2, "too long: over 16384 bytes, the limit for a portal message", ErrTooLarge},
		{"doubling a variable without printing it",
			email("Hi", "Hi", doubled(`{{$a := .Text}}`, `{{$a = printf "%s%s" $a $a}}`, `{{if eq $a ""}}empty{{end}}`, 40)),
			"html", 1, "the limit for an HTML email", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(op string, err error) {
				t.Helper()
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("%s = %v, want a *ValidationError", op, err)
				}
				if ve.Field != tt.field || ve.Line != tt.line || !strings.Contains(ve.Reason, tt.reason) {
					t.Errorf("%s = %q, want %s line %d: ...%s...", op, ve, tt.field, tt.line, tt.reason)
				}
				if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
					t.Errorf("%s = %v, not %v", op, err, tt.sentinel)
				}
			}
			for _, op := range []struct {
				name string
				run  func() error
			}{
				{"Validate", func() error { return Validate(tt.tmpl, 0) }},
				{"Render", func() error { _, err := Render(tt.tmpl, SampleData(LocaleEnNZ)); return err }},
			} {
				var err error
				start := time.Now()
				n := allocated(func() { err = op.run() })
				if took := time.Since(start); took > MaxRenderTime {
					t.Errorf("%s took %v", op.name, took)
				}
				if n > 1<<20 {
					t.Errorf("%s allocated %d bytes", op.name, n)
				}
				check(op.name, err)
			}
		})
	}
}

func TestPrintfFormats(t *testing.T) {
	tests := []struct {
		name   string
		tmpl   Template
		field  string
		line   int
		reason string // "" when accepted
	}{
		{"width 64", sms(`{{printf "%64s" .PracticeName}}`), "", 0, ""},
		{"width 65", sms(`{{printf "%65s" .PracticeName}}`), "body", 1, `printf verb "%65s": width or precision over 64`},
		{"precision 64", sms(`{{printf "%.64s" .Text}}`), "", 0, ""},
		{"precision 65", sms(`{{printf "%.65d" 7}}`), "body", 1, "over 64"},
		{"zero padding to 64", sms(`{{printf "%064d" 7}}`), "", 0, ""},
		{"leading zeros are flags", sms(`{{printf "%0000064d" 7}}`), "", 0, ""},
		{"flags then 65", sms(`{{printf "%-+065d" 7}}`), "body", 1, "over 64"},
		{"width and precision", sms(`{{printf "%10.2f|%-20s|%02d" 1.5 .Clinician 7}}`), "", 0, ""},
		{"percent sign", sms(`{{printf "100%% %s" .Text}}`), "", 0, ""},
		{"piped value after a literal format", sms(`{{.Text | printf "%.20s"}}`), "", 0, ""},
		{"star width", sms(`{{printf "%*d" 5 7}}`), "body", 1, "from an argument (*)"},
		{"star precision", sms(`{{printf "%.*s" 5 .Text}}`), "body", 1, "from an argument (*)"},
		{"argument index", sms(`{{printf "%[2]s %[1]s" .Text .Clinician}}`), "body", 1, "argument index ([n])"},
		{"format from a field", sms("Hi\n{{printf .Text}}"), "body", 2, "printf needs its format written in the template"},
		{"format piped in", sms(`{{.Text | printf}}`), "body", 1, "printf needs its format written"},
		{"format from a variable", sms(`{{$f := "%s"}}{{printf $f .Text}}`), "body", 1, "printf needs its format written"},
		{"format computed", sms(`{{printf (print "%0" "100d") 1}}`), "body", 1, "printf needs its format written"},
		{"printf with no arguments", sms(`{{print printf}}`), "body", 1, "printf needs its format written"},
		{"wide verb on line 3", sms("Kia ora\n\n{{printf \"%0100d\" 1}}"), "body", 3, "over 64"},
		{"in the subject", email(`{{printf "%99s" .PracticeName}}`, "Hi", ""), "subject", 1, "over 64"},
		{"in html", email("Hi", "Hi", "<p>\n{{printf \"%99s\" .Text}}</p>"), "html", 2, "over 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.tmpl, 0)
			_, rerr := Render(tt.tmpl, SampleData(LocaleEnNZ))
			if tt.reason == "" {
				if err != nil || rerr != nil {
					t.Errorf("Validate() = %v, Render() = %v", err, rerr)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || ve.Line != tt.line || !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("Validate() = %q, want %s line %d: ...%s...", ve, tt.field, tt.line, tt.reason)
			}
			if rerr == nil || rerr.Error() != err.Error() {
				t.Errorf("Render() = %v, want %v", rerr, err)
			}
		})
	}
}

// TestPartLimits renders each part just at and just over its limit, from
// template text, from data, and from a function's value.
func TestPartLimits(t *testing.T) {
	text := func(n int) Data {
		d := SampleData(LocaleEnNZ)
		d.Text = strings.Repeat("a", n)
		return d
	}
	sample := SampleData(LocaleEnNZ)
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name  string
		tmpl  Template
		data  Data
		field string // "" when it renders
		line  int
	}{
		{"sms at the limit", sms(a(MaxSMSBytes)), sample, "", 0},
		{"sms over", sms(a(MaxSMSBytes + 1)), sample, "body", 0},
		{"portal at the limit", portal(a(MaxPortalBytes)), sample, "", 0},
		{"portal over", portal(a(MaxPortalBytes + 1)), sample, "body", 0},
		{"subject at the limit", email(a(MaxSubjectBytes), "Hi", ""), sample, "", 0},
		{"subject over", email(a(MaxSubjectBytes+1), "Hi", ""), sample, "subject", 0},
		{"email text at the limit", email("Hi", a(MaxEmailTextBytes), ""), sample, "", 0},
		{"email text over", email("Hi", a(MaxEmailTextBytes+1), ""), sample, "body", 0},
		{"html at the limit", email("Hi", "Hi", a(MaxEmailHTMLBytes)), sample, "", 0},
		{"html over", email("Hi", "Hi", a(MaxEmailHTMLBytes+1)), sample, "html", 0},
		{"data at the limit", sms("{{.Text}}"), text(MaxSMSBytes), "", 0},
		{"data over", sms("{{.Text}}"), text(MaxSMSBytes + 1), "body", 0},
		{"data over after text", portal("Kia ora,\n{{.Text}}"), text(MaxPortalBytes - 8), "body", 0},
		{"escaped html over", email("Hi", "Hi", "{{.Text}}"), func() Data { d := sample; d.Text = strings.Repeat("&", MaxEmailHTMLBytes/5+1); return d }(), "html", 0},
		{"function value at the limit", sms("{{upper .Text}}"), text(MaxSMSBytes), "", 0},
		{"function value over", sms("Hi\n{{upper .Text}}"), text(MaxSMSBytes + 1), "body", 2},
		{"print arguments at the limit", sms("{{print .Text .Text}}"), text(MaxSMSBytes / 2), "", 0},
		{"print arguments over", sms("{{print .Text .Text}}"), text(MaxSMSBytes/2 + 1), "body", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.tmpl, tt.data)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Render() = %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrRenderTimeout) {
				t.Fatalf("Render() = %#v, want a *ValidationError wrapping ErrTooLarge", err)
			}
			if ve.Field != tt.field || ve.Line != tt.line || !strings.HasPrefix(ve.Reason, "too long: over ") {
				t.Errorf("Render() = %q, want %s line %d: too long...", ve, tt.field, tt.line)
			}
		})
	}
}

func TestRenderDeadline(t *testing.T) {
	tests := []struct {
		name  string
		tmpl  Template
		field string
		line  int
	}{
		{"a write", sms("Kia ora"), "body", 0},
		{"a function, with nothing written", sms("{{$u := upper .Text}}\n{{$l := lower $u}}"), "body", 1},
		{"one deadline for all parts: the subject is first", email("Hi", "Hi", "<p>{{print .Text}}</p>"), "subject", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := render(tt.tmpl, SampleData(LocaleEnNZ), time.Now().Add(MaxRenderTime)); err != nil {
				t.Fatalf("render() before the deadline = %v", err)
			}
			_, err := render(tt.tmpl, SampleData(LocaleEnNZ), time.Now().Add(-time.Nanosecond))
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrRenderTimeout) || errors.Is(err, ErrTooLarge) {
				t.Fatalf("render() after the deadline = %#v, want a *ValidationError wrapping ErrRenderTimeout", err)
			}
			if ve.Field != tt.field || ve.Line != tt.line || ve.Reason != "took longer than 100ms to render" {
				t.Errorf("render() = %q, want %s line %d", ve, tt.field, tt.line)
			}
		})
	}
}

// TestValidateLongData: Validate tells a practice at save time about a
// template that fits with SampleData but not with a long notice.
func TestValidateLongData(t *testing.T) {
	tests := []struct {
		name   string
		tmpl   Template
		field  string // "" when accepted
		reason string
	}{
		{"notice in the portal with wording", portal("Kia ora {{.RecipientName}},\n\n{{.Text}}\n\nNgā mihi,\n{{.PracticeName}}, {{.PracticePhone}}"), "", ""},
		{"notice in the subject", Template{Kind: KindNotice, Channel: ChannelEmail, Locale: LocaleEnNZ, Subject: "{{.Text}}", Body: "{{.Text}}"},
			"subject", "too long: over 998 bytes, the limit for an email subject with long sample data (a 2000-character notice text)"},
		{"notice three times in the portal", portal("{{.Text}}\n{{.Text}}\n{{.Text}}"), "body", "the limit for a portal message with long sample data"},
		{"notice three times in an SMS", sms("{{.Text}}{{.Text}}{{.Text}}"), "body", "the limit for an SMS with long sample data"},
		{"notice in an email", Template{Kind: KindNotice, Channel: ChannelEmail, Locale: LocaleMiNZ, Subject: "Pānui", Body: "{{.Text}}", HTML: "<p>{{.Text}}</p>"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Render(tt.tmpl, SampleData(tt.tmpl.Locale)); err != nil {
				t.Fatalf("Render(SampleData) = %v", err)
			}
			err := Validate(tt.tmpl, 0)
			if tt.field == "" {
				if err != nil {
					t.Errorf("Validate() = %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Validate() = %#v, want a *ValidationError wrapping ErrTooLarge", err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("Validate() = %q, want %s: ...%s...", ve, tt.field, tt.reason)
			}
		})
	}
}
