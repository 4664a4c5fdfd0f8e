package templates_test

import (
	"errors"
	"fmt"

	"github.com/karerehub/karere/templates"
)

func ExampleMeasure() {
	s := templates.Measure("Kia ora Aroha, reminder: Kōwhai Health, Thu 4 Dec 10:30 with Dr Aroha Smith. Reply Y to confirm or N to cancel.")
	fmt.Println(s.Segments, "segments,", s.Encoding)
	// Output: 2 segments, UCS-2
}

func ExampleValidate() {
	t := templates.Template{
		Kind:    templates.KindPrescriptionReady,
		Channel: templates.ChannelSMS,
		Locale:  templates.LocaleEnNZ,
		Body:    "Kia ora {{.RecipientName}},\nyour prescription is at {{.Pharmacist}}.",
	}
	fmt.Println(templates.Validate(t, 2))
	// Output: body line 2: unknown field .Pharmacist
}

func ExampleRender() {
	t, _ := templates.Default(templates.KindSecureMessageNotice, templates.ChannelSMS, templates.LocaleMiNZ)
	r, err := templates.Render(t, templates.SampleData(templates.LocaleMiNZ))
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Text)
	// Output: He karere matatapu hou tāu nā Kōwhai Health. Takiuru ki tō tomokanga kia pānuitia.
}

func ExampleErrTooLarge() {
	t := templates.Template{
		Kind:    templates.KindNotice,
		Channel: templates.ChannelSMS,
		Locale:  templates.LocaleEnNZ,
		Body:    "{{$a := .Text}}\n{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a}}",
	}
	_, err := templates.Render(t, templates.SampleData(templates.LocaleEnNZ))
	fmt.Println(errors.Is(err, templates.ErrTooLarge))
	fmt.Println(err)
	// Output:
	// true
	// body line 2: too long: over 16384 bytes, the limit for an SMS
}
