package templates

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Pacific/Auckland regardless of the host's zoneinfo
)

func auckland(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestFormatAcrossDST(t *testing.T) {
	loc := auckland(t)
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name           string
		at             time.Time
		en, mi, enDate string
		miDate         string
	}{
		{"summer NZDT +13", utc("2025-12-03T21:30:00Z"), "Thu 4 Dec 10:30", "Rāpare 4 Hakihea 10:30", "Thursday 4 December 2025", "Rāpare 4 Hakihea 2025"},
		{"winter NZST +12", utc("2025-06-03T22:30:00Z"), "Wed 4 Jun 10:30", "Rāapa 4 Pipiri 10:30", "Wednesday 4 June 2025", "Rāapa 4 Pipiri 2025"},
		{"last minute of NZDT before April change", utc("2025-04-05T13:59:00Z"), "Sun 6 Apr 02:59", "Rātapu 6 Paengawhāwhā 02:59", "Sunday 6 April 2025", "Rātapu 6 Paengawhāwhā 2025"},
		{"repeated hour in NZST after April change", utc("2025-04-05T14:30:00Z"), "Sun 6 Apr 02:30", "Rātapu 6 Paengawhāwhā 02:30", "Sunday 6 April 2025", "Rātapu 6 Paengawhāwhā 2025"},
		{"before September change", utc("2025-09-27T13:59:00Z"), "Sun 28 Sep 01:59", "Rātapu 28 Mahuru 01:59", "Sunday 28 September 2025", "Rātapu 28 Mahuru 2025"},
		{"skipped hour after September change", utc("2025-09-27T14:00:00Z"), "Sun 28 Sep 03:00", "Rātapu 28 Mahuru 03:00", "Sunday 28 September 2025", "Rātapu 28 Mahuru 2025"},
		{"UTC day before is NZ new year", utc("2025-12-31T11:30:00Z"), "Thu 1 Jan 00:30", "Rāpare 1 Kohitātea 00:30", "Thursday 1 January 2026", "Rāpare 1 Kohitātea 2026"},
		{"Saturday in November", utc("2025-11-28T21:30:00Z"), "Sat 29 Nov 10:30", "Rāhoroi 29 Whiringa-ā-rangi 10:30", "Saturday 29 November 2025", "Rāhoroi 29 Whiringa-ā-rangi 2025"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct{ got, want string }{
				{FormatTime(tt.at, loc, LocaleEnNZ), tt.en},
				{FormatTime(tt.at, loc, LocaleMiNZ), tt.mi},
				{FormatDate(tt.at, loc, LocaleEnNZ), tt.enDate},
				{FormatDate(tt.at, loc, LocaleMiNZ), tt.miDate},
			} {
				if c.got != c.want {
					t.Errorf("got %q, want %q", c.got, c.want)
				}
			}
		})
	}
}

func TestFormatAllNames(t *testing.T) {
	loc := auckland(t)
	for m := time.January; m <= time.December; m++ {
		d := time.Date(2026, m, 15, 9, 0, 0, 0, loc)
		if got := FormatDate(d, loc, "mi"); !strings.Contains(got, miMonths[m-1]) || !strings.HasPrefix(got, miWeekdays[d.Weekday()]) {
			t.Errorf("FormatDate(%v, mi) = %q", d, got)
		}
	}
	for i := range 7 {
		d := time.Date(2026, 3, 1+i, 9, 0, 0, 0, loc) // 1 March 2026 is a Sunday
		want := []string{"Rātapu", "Rāhina", "Rātū", "Rāapa", "Rāpare", "Rāmere", "Rāhoroi"}[i]
		if got := FormatTime(d, loc, LocaleMiNZ); !strings.HasPrefix(got, want+" ") {
			t.Errorf("FormatTime(%v, mi-NZ) = %q, want prefix %q", d, got, want)
		}
	}
}

func TestFormatOtherLocaleIsEnglish(t *testing.T) {
	loc := auckland(t)
	at := time.Date(2025, 12, 4, 10, 30, 0, 0, loc)
	if got := FormatTime(at, loc, "sm-WS"); got != "Thu 4 Dec 10:30" {
		t.Errorf("got %q", got)
	}
	if got := FormatTime(at, nil, "mi-nz"); got != "Rāpare 4 Hakihea 10:30" {
		t.Errorf("nil location, lower-case locale: got %q", got)
	}
}

func TestNewData(t *testing.T) {
	loc := auckland(t)
	start := time.Date(2025, 12, 4, 10, 30, 0, 0, loc)
	d := NewData(LocaleMiNZ, loc, Facts{
		PatientFirstName: "Tama",
		GuardianName:     "Mere",
		PracticeName:     "Kōwhai Health",
		Start:            start.UTC(),
		Pickup:           PickupPharmacy,
		CollectBy:        time.Date(2025, 12, 10, 0, 0, 0, 0, loc),
	})
	want := Data{
		PatientFirstName:    "Tama",
		RecipientName:       "Mere",
		IsGuardian:          true,
		PracticeName:        "Kōwhai Health",
		AppointmentTime:     "Rāpare 4 Hakihea 10:30",
		AppointmentDate:     "Rāpare 4 Hakihea 2025",
		AppointmentClock:    "10:30",
		Pickup:              PickupPharmacy,
		CollectBy:           "Rāapa 10 Hakihea 2025",
		ConfirmInstructions: "Whakautu Y hei whakaū, N hei whakakore.",
	}
	if d != want {
		t.Errorf("NewData =\n%+v\nwant\n%+v", d, want)
	}
	patient := NewData(LocaleEnNZ, loc, Facts{PatientFirstName: "Aroha"})
	if patient.RecipientName != "Aroha" || patient.IsGuardian || patient.AppointmentTime != "" || patient.CollectBy != "" {
		t.Errorf("patient data = %+v", patient)
	}
	if patient.ConfirmInstructions != "Reply Y to confirm or N to cancel." {
		t.Errorf("ConfirmInstructions = %q", patient.ConfirmInstructions)
	}
}
