package sms

import (
	"errors"

	"github.com/karerehub/karere/hub"
)

var (
	errInvalidNumber = errors.New("sms: not a valid phone number")
	errNotMobile     = errors.New("sms: not a mobile number")
)

// normaliseMobile returns number in E.164 if it is a valid number that can
// receive SMS (hub.ParsePhone, the one phone parser). Errors never quote
// the number.
func normaliseMobile(number string) (string, error) {
	p, ok := hub.ParsePhone(number)
	switch {
	case !ok || !p.Valid:
		return "", errInvalidNumber
	case !p.Mobile:
		return "", errNotMobile
	}
	return p.E164, nil
}

// normaliseFrom returns a sender's number in E.164 when it parses, else the
// number as given: an inbound text from a short code or an odd format is
// still handed on rather than dropped.
func normaliseFrom(number string) string {
	if p, ok := hub.ParsePhone(number); ok {
		return p.E164
	}
	return number
}
