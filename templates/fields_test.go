package templates

import (
	"reflect"
	"testing"
)

func TestFieldsCoverData(t *testing.T) {
	fields := Fields()
	typ := reflect.TypeFor[Data]()
	if len(fields) != typ.NumField() {
		t.Fatalf("Fields() has %d entries, Data has %d fields", len(fields), typ.NumField())
	}
	for i, f := range fields {
		if want := "." + typ.Field(i).Name; f.Name != want {
			t.Errorf("Fields()[%d].Name = %q, want %q", i, f.Name, want)
		}
		if f.Description == "" || f.Type == "" {
			t.Errorf("%s is undocumented: %+v", f.Name, f)
		}
		// Every documented field validates in a template.
		if err := Validate(sms("{{"+f.Name+"}}"), 0); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
	if got := fields[3]; got.Name != ".PracticeName" || got.Example != "Kōwhai Health" {
		t.Errorf("PracticeName doc = %+v", got)
	}
	if typ.NumMethod() != 0 || reflect.PointerTo(typ).NumMethod() != 0 {
		t.Error("Data must have no methods: templates could call them")
	}
}
