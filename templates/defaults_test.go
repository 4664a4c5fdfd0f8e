package templates

import (
	"io/fs"
	"strings"
	"testing"
)

func TestDefaultsValidateAndRender(t *testing.T) {
	for _, locale := range Locales() {
		for _, kind := range Kinds() {
			for _, channel := range Channels() {
				t.Run(locale+"/"+kind+"."+channel, func(t *testing.T) {
					tmpl, ok := Default(kind, channel, locale)
					if !ok {
						t.Fatal("no default")
					}
					if tmpl.Kind != kind || tmpl.Channel != channel || tmpl.Locale != locale || tmpl.Version != 0 {
						t.Errorf("Default returned %+v", tmpl)
					}
					if err := Validate(tmpl, 0); err != nil {
						t.Fatalf("Validate: %v", err)
					}
					for _, d := range []Data{SampleData(locale), guardianSample(locale)} {
						r, err := Render(tmpl, d)
						if err != nil {
							t.Fatal(err)
						}
						if r.Text == "" || (channel == ChannelEmail) != (r.Subject != "" && r.HTML != "") {
							t.Errorf("rendered %+v", r)
						}
						if strings.Contains(r.Text+r.Subject+r.HTML, "<no value>") {
							t.Errorf("missing value in %+v", r)
						}
					}
				})
			}
		}
	}
}

func TestDefaultSMSFitsTwoSegments(t *testing.T) {
	for _, locale := range Locales() {
		for _, kind := range Kinds() {
			tmpl, _ := Default(kind, ChannelSMS, locale)
			// The guarantee is for SampleData; a guardian's wording is a few
			// characters longer and may take a third part in te reo Māori.
			for _, who := range []struct {
				name string
				d    Data
				max  int
			}{{"patient", SampleData(locale), 2}, {"guardian", guardianSample(locale), 3}} {
				r, err := Render(tmpl, who.d)
				if err != nil {
					t.Fatal(err)
				}
				if m := Measure(r.Text); m.Segments > who.max {
					t.Errorf("%s %s (%s): %d segments (%s, %d units): %q", locale, kind, who.name, m.Segments, m.Encoding, m.Units, r.Text)
				}
			}
		}
	}
}

// TestDefaultsPrivacy: a secure-message notice carries no content and a
// prescription alert names only where to collect, whatever Data holds.
func TestDefaultsPrivacy(t *testing.T) {
	const secret = "AMOXICILLIN-RASH-SECRET"
	exact := map[string]string{
		LocaleEnNZ: "You have a new secure message from Kōwhai Health. Sign in to your portal to read it.",
		LocaleMiNZ: "He karere matatapu hou tāu nā Kōwhai Health. Takiuru ki tō tomokanga kia pānuitia.",
	}
	for _, locale := range Locales() {
		d := SampleData(locale)
		d.Text = secret
		for _, kind := range Kinds() {
			for _, channel := range Channels() {
				tmpl, _ := Default(kind, channel, locale)
				if kind != KindNotice && strings.Contains(tmpl.Subject+tmpl.Body+tmpl.HTML, ".Text") {
					t.Errorf("%s %s %s uses .Text", locale, kind, channel)
				}
				r, err := Render(tmpl, d)
				if err != nil {
					t.Fatal(err)
				}
				if kind != KindNotice && strings.Contains(r.Subject+r.Text+r.HTML, secret) {
					t.Errorf("%s %s %s leaks .Text", locale, kind, channel)
				}
				if kind == KindSecureMessageNotice && channel != ChannelEmail && r.Text != exact[locale] {
					t.Errorf("%s %s %s = %q, want %q", locale, kind, channel, r.Text, exact[locale])
				}
			}
		}
	}
}

func TestDefaultMissing(t *testing.T) {
	for _, c := range [][3]string{
		{"lab_result", ChannelSMS, LocaleEnNZ},
		{KindNotice, "fax", LocaleEnNZ},
		{KindNotice, ChannelSMS, "sm-WS"},
		{KindNotice, ChannelSMS, "../en-NZ"},
	} {
		if _, ok := Default(c[0], c[1], c[2]); ok {
			t.Errorf("Default%v found", c)
		}
	}
}

// TestNoStrayDefaultFiles: every embedded file is one Default reads, and
// none ends an SMS with a blank line.
func TestNoStrayDefaultFiles(t *testing.T) {
	want := map[string]bool{}
	for _, locale := range Locales() {
		for _, kind := range Kinds() {
			for _, part := range []string{"sms", "portal", "email.subject", "email.txt", "email.html"} {
				want["defaults/"+locale+"/"+kind+"."+part+".tmpl"] = true
			}
		}
	}
	n := 0
	err := fs.WalkDir(defaultFS, "defaults", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		if !want[path] {
			t.Errorf("stray default file %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("%d default files, want %d", n, len(want))
	}
	for _, locale := range Locales() {
		for _, kind := range Kinds() {
			tmpl, _ := Default(kind, ChannelSMS, locale)
			if strings.TrimSpace(tmpl.Body) != tmpl.Body || strings.Contains(tmpl.Body, "\n") {
				t.Errorf("%s %s SMS body is not one trimmed line: %q", locale, kind, tmpl.Body)
			}
		}
	}
}
