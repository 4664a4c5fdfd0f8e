package templates

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// guardianSample is SampleData addressed to Mere about her son Tama.
func guardianSample(locale string) Data {
	d := SampleData(locale)
	d.PatientFirstName, d.RecipientName, d.IsGuardian = "Tama", "Mere", true
	return d
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./templates/ -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func formatRendered(r Rendered) string {
	var b strings.Builder
	if r.Subject != "" {
		b.WriteString("Subject: " + r.Subject + "\n\n")
	}
	b.WriteString(r.Text + "\n")
	if r.HTML != "" {
		b.WriteString("\n-- html --\n" + r.HTML + "\n")
	}
	return b.String()
}

// TestRenderDefaultsGolden renders every default in both locales with
// SampleData (and SMS also for a guardian) and compares with testdata/golden.
func TestRenderDefaultsGolden(t *testing.T) {
	for _, locale := range Locales() {
		for _, kind := range Kinds() {
			for _, channel := range Channels() {
				name := locale + "/" + kind + "." + channel
				t.Run(name, func(t *testing.T) {
					tmpl, ok := Default(kind, channel, locale)
					if !ok {
						t.Fatal("no default")
					}
					r, err := Render(tmpl, SampleData(locale))
					if err != nil {
						t.Fatal(err)
					}
					golden(t, name+".golden", formatRendered(r))
					if channel != ChannelSMS {
						return
					}
					g, err := Render(tmpl, guardianSample(locale))
					if err != nil {
						t.Fatal(err)
					}
					golden(t, name+".guardian.golden", formatRendered(g))
				})
			}
		}
	}
}

func TestRenderReminderSMS(t *testing.T) {
	tests := []struct {
		name, locale string
		data         Data
		want         string
	}{
		{"en-NZ patient", LocaleEnNZ, SampleData(LocaleEnNZ),
			"Kia ora Aroha, reminder: Kōwhai Health, Thu 4 Dec 10:30 with Dr Aroha Smith. Reply Y to confirm or N to cancel."},
		{"en-NZ guardian", LocaleEnNZ, guardianSample(LocaleEnNZ),
			"Kia ora Mere, reminder for Tama: Kōwhai Health, Thu 4 Dec 10:30 with Dr Aroha Smith. Reply Y to confirm or N to cancel."},
		{"mi-NZ patient", LocaleMiNZ, SampleData(LocaleMiNZ),
			"Kia ora Aroha, he whakamaumahara: Kōwhai Health, Rāpare 4 Hakihea 10:30 me Dr Aroha Smith. Whakautu Y hei whakaū, N hei whakakore."},
		{"mi-NZ guardian", LocaleMiNZ, guardianSample(LocaleMiNZ),
			"Kia ora Mere, he whakamaumahara mō Tama: Kōwhai Health, Rāpare 4 Hakihea 10:30 me Dr Aroha Smith. Whakautu Y hei whakaū, N hei whakakore."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, _ := Default(KindAppointmentReminder, ChannelSMS, tt.locale)
			r, err := Render(tmpl, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Text != tt.want {
				t.Errorf("Text = %q\nwant   %q", r.Text, tt.want)
			}
			if r.Subject != "" || r.HTML != "" {
				t.Errorf("SMS has subject %q or HTML %q", r.Subject, r.HTML)
			}
		})
	}
}

func TestRenderEscapesHTMLOnly(t *testing.T) {
	d := SampleData(LocaleEnNZ)
	d.Text = `Closed <b>Monday</b> & "Tuesday"`
	tmpl, _ := Default(KindNotice, ChannelEmail, LocaleEnNZ)
	r, err := Render(tmpl, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, d.Text) {
		t.Errorf("plain text was altered: %q", r.Text)
	}
	if strings.Contains(r.HTML, "<b>") || !strings.Contains(r.HTML, "Closed &lt;b&gt;Monday&lt;/b&gt; &amp; &#34;Tuesday&#34;") {
		t.Errorf("HTML not escaped: %q", r.HTML)
	}
}

func TestRenderHTMLRefusesUnsafeURL(t *testing.T) {
	d := SampleData(LocaleEnNZ)
	d.PortalURL = "javascript:alert(1)"
	tmpl, _ := Default(KindSecureMessageNotice, ChannelEmail, LocaleEnNZ)
	r, err := Render(tmpl, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "javascript:") {
		t.Errorf("unsafe URL kept: %q", r.HTML)
	}
}

func TestRenderSubjectIsOneLine(t *testing.T) {
	d := SampleData(LocaleEnNZ)
	d.PracticeName = "Kōwhai\r\nBcc: someone@example.com"
	tmpl, _ := Default(KindSecureMessageNotice, ChannelEmail, LocaleEnNZ)
	r, err := Render(tmpl, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("Subject has a line break: %q", r.Subject)
	}
}

func TestRenderFunctions(t *testing.T) {
	d := SampleData(LocaleEnNZ)
	d.Clinician = " "
	r, err := Render(sms(`{{upper .PracticeName}} / {{lower "ABC"}} / {{.Clinician | default "your doctor"}} / {{.Location | default "x"}}`), d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "KŌWHAI HEALTH / abc / your doctor / Kōwhai Health, Room 2"; r.Text != want {
		t.Errorf("Text = %q, want %q", r.Text, want)
	}
}
