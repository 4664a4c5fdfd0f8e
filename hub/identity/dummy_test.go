package identity

import (
	"strings"
	"testing"
)

// An unknown email is checked against dummyHash: it must cost what a real
// password's hash costs, so its parameters are HashPassword's.
func TestDummyHashCostsWhatARealHashCosts(t *testing.T) {
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	if got, want := params(dummyHash), params(HashPassword("x")); got != want {
		t.Fatalf("dummyHash has %s, HashPassword makes %s: regenerate dummyHash with HashPassword", got, want)
	}
}
