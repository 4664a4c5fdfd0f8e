package templates

import (
	"strings"
	"time"
)

// Data is the fixed set of values every template can use. Templates refer to
// them as {{.PracticeName}} and so on; a field not listed here is refused
// when the template is saved. All values are plain, pre-formatted text in
// the template's locale: templates do no formatting of their own.
//
// Data deliberately has no medicine, diagnosis or reason-for-visit field.
type Data struct {
	PatientFirstName    string // the patient's first (preferred) name
	RecipientName       string // who the message is addressed to: the patient, or their guardian
	IsGuardian          bool   // true when a guardian receives it on the patient's behalf
	PracticeName        string // the practice's display name
	PracticePhone       string // the practice's phone number as patients dial it
	AppointmentTime     string // short day and time in the practice's zone: "Thu 4 Dec 10:30"
	AppointmentDate     string // full date: "Thursday 4 December 2025"
	AppointmentClock    string // time of day only, 24-hour: "10:30"
	Clinician           string // who the appointment is with: "Dr Aroha Smith"
	Location            string // where the appointment is: "Kōwhai Health, Room 2"
	Pharmacy            string // where a prescription can be collected: "Unichem Te Aro"
	Pickup              string // how a prescription is collected: "pharmacy" or "practice"
	CollectBy           string // last day to collect a prescription, formatted like AppointmentDate
	ConfirmInstructions string // how to confirm or cancel by reply: "Reply Y to confirm or N to cancel."
	Text                string // the text of a plain practice notice
	PortalURL           string // the practice's patient portal address
}

// Pickup values.
const (
	PickupPharmacy = "pharmacy"
	PickupPractice = "practice"
)

// Facts are the raw values NewData formats into Data.
type Facts struct {
	PatientFirstName string
	GuardianName     string // set when a guardian receives the message
	PracticeName     string
	PracticePhone    string
	PortalURL        string
	Start            time.Time // appointment start; zero if none
	Clinician        string
	Location         string
	Pharmacy         string
	Pickup           string
	CollectBy        time.Time // zero if none
	Text             string
}

// NewData builds Data for locale, formatting times in loc (the practice's
// time zone; nil keeps each time's own location). RecipientName is the
// guardian's name when one is set, otherwise the patient's. CollectBy is a
// calendar date: pass midnight in loc (or any time that day in loc).
func NewData(locale string, loc *time.Location, f Facts) Data {
	d := Data{
		PatientFirstName:    f.PatientFirstName,
		RecipientName:       f.PatientFirstName,
		PracticeName:        f.PracticeName,
		PracticePhone:       f.PracticePhone,
		Clinician:           f.Clinician,
		Location:            f.Location,
		Pharmacy:            f.Pharmacy,
		Pickup:              f.Pickup,
		ConfirmInstructions: ConfirmInstructions(locale),
		Text:                f.Text,
		PortalURL:           f.PortalURL,
	}
	if f.GuardianName != "" {
		d.RecipientName = f.GuardianName
		d.IsGuardian = true
	}
	if !f.Start.IsZero() {
		d.AppointmentTime = FormatTime(f.Start, loc, locale)
		d.AppointmentDate = FormatDate(f.Start, loc, locale)
		d.AppointmentClock = in(f.Start, loc).Format("15:04")
	}
	if !f.CollectBy.IsZero() {
		d.CollectBy = FormatDate(f.CollectBy, loc, locale)
	}
	return d
}

// ConfirmInstructions is the standard "reply Y or N" sentence in locale
// (New Zealand English for locales other than mi*).
func ConfirmInstructions(locale string) string {
	if isMaori(locale) {
		return "Whakautu Y hei whakaū, N hei whakakore."
	}
	return "Reply Y to confirm or N to cancel."
}

// sampleStart is Thursday 4 December 2025, 10:30 NZDT. A fixed zone keeps
// SampleData independent of the host's time zone database.
var sampleStart = time.Date(2025, 12, 4, 10, 30, 0, 0, time.FixedZone("NZDT", 13*3600))

// SampleData is realistic data for previews and tests in locale.
func SampleData(locale string) Data {
	f := Facts{
		PatientFirstName: "Aroha",
		PracticeName:     "Kōwhai Health",
		PracticePhone:    "04 555 0123",
		PortalURL:        "https://portal.kowhaihealth.example.nz",
		Start:            sampleStart,
		Clinician:        "Dr Aroha Smith",
		Location:         "Kōwhai Health, Room 2",
		Pharmacy:         "Unichem Te Aro",
		Pickup:           PickupPharmacy,
		CollectBy:        sampleStart.AddDate(0, 0, 6),
		Text:             "The practice is closed on Monday 26 January for Wellington Anniversary Day.",
	}
	if isMaori(locale) {
		f.Text = "Ka kati te whare hauora ā te Rāhina 26 Kohitātea."
	}
	return NewData(locale, nil, f)
}

// worstCaseData is long-but-plausible data used by Validate to bound the
// size of an SMS: long hyphenated names with macrons (forcing UCS-2), a
// guardian recipient, the longest month name and a long location. Text, the
// free text of a notice, is bounded separately when a notice is submitted;
// here it is a typical 100-character notice.
func worstCaseData(locale string) Data {
	return NewData(locale, nil, Facts{
		PatientFirstName: "Tūmanako-Wairangi",
		GuardianName:     "Māhinaarangi-Tūhoe",
		PracticeName:     "Ōtautahi Rāwhiti Hauora",
		PracticePhone:    "03 555 0199 ext 21",
		PortalURL:        "https://portal.otautahirawhitihauora.example.nz",
		Start:            time.Date(2025, 11, 29, 10, 30, 0, 0, time.FixedZone("NZDT", 13*3600)),
		Clinician:        "Dr Wiremu Tāwhiri-Pōmare",
		Location:         "Ōtautahi Rāwhiti, Level 2, Room 14",
		Pharmacy:         "Unichem Ōtautahi Rāwhiti",
		Pickup:           PickupPharmacy,
		CollectBy:        time.Date(2025, 11, 29, 0, 0, 0, 0, time.FixedZone("NZDT", 13*3600)),
		Text:             "Kōwhai Health is closed on Monday 26 January. For urgent care call Healthline on 0800 611 116.",
	})
}

// longData is worstCaseData with the longest notice text in bytes:
// MaxTextChars four-byte characters. Validate renders it to check a
// template against the size limits, as hub bounds a notice's text in
// characters, not bytes.
func longData(locale string) Data {
	d := worstCaseData(locale)
	d.Text = strings.Repeat("🌿", MaxTextChars)
	return d
}

// FieldDoc describes one template variable for the API docs and the editor.
type FieldDoc struct {
	Name        string `json:"name"`        // as written in a template: ".PracticeName"
	Type        string `json:"type"`        // "text" or "yes/no"
	Description string `json:"description"` // one line
	Example     string `json:"example"`     // from SampleData("en-NZ")
}

// fieldDescriptions must list every Data field; a test keeps them in step.
var fieldDescriptions = []struct{ name, desc string }{
	{"PatientFirstName", "The patient's first name."},
	{"RecipientName", "Who the message is addressed to: the patient, or the guardian receiving it for them."},
	{"IsGuardian", "True when a guardian receives the message on the patient's behalf: {{if .IsGuardian}}...{{end}}."},
	{"PracticeName", "The practice's name."},
	{"PracticePhone", "The practice's phone number."},
	{"AppointmentTime", "Appointment day and time, short, in the practice's time zone: \"Thu 4 Dec 10:30\"."},
	{"AppointmentDate", "Appointment date in full: \"Thursday 4 December 2025\"."},
	{"AppointmentClock", "Appointment time of day only, 24-hour: \"10:30\"."},
	{"Clinician", "Who the appointment is with."},
	{"Location", "Where the appointment is."},
	{"Pharmacy", "Where a prescription can be collected."},
	{"Pickup", "How a prescription is collected: \"pharmacy\" or \"practice\"."},
	{"CollectBy", "The last day to collect a prescription, in full; empty if none."},
	{"ConfirmInstructions", "How to confirm or cancel by reply: \"Reply Y to confirm or N to cancel.\"."},
	{"Text", "The text of a plain practice notice."},
	{"PortalURL", "The practice's patient portal address."},
}

// Fields lists every variable a template can use, in Data's order.
func Fields() []FieldDoc {
	sample := SampleData(LocaleEnNZ)
	out := make([]FieldDoc, 0, len(fieldDescriptions))
	for _, f := range fieldDescriptions {
		doc := FieldDoc{Name: "." + f.name, Type: "text", Description: f.desc}
		if v, ok := fieldValue(sample, f.name); ok {
			doc.Example = v
		}
		if f.name == "IsGuardian" {
			doc.Type = "yes/no"
		}
		out = append(out, doc)
	}
	return out
}
