package sms

import (
	"errors"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for numbers written without a country
// code: Karere serves New Zealand practices.
const DefaultRegion = "NZ"

var (
	errInvalidNumber = errors.New("sms: not a valid phone number")
	errNotMobile     = errors.New("sms: not a mobile number")
)

// normaliseMobile returns number in E.164 if it is a valid number that can
// receive SMS (mobile, or a number plan where fixed and mobile share
// ranges). Errors never quote the number.
func normaliseMobile(number string) (string, error) {
	n, err := phonenumbers.Parse(number, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", errInvalidNumber
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return phonenumbers.Format(n, phonenumbers.E164), nil
	}
	return "", errNotMobile
}

// normaliseFrom returns a sender's number in E.164 when it parses, else the
// number as given: an inbound text from a short code or an odd format is
// still handed on rather than dropped.
func normaliseFrom(number string) string {
	n, err := phonenumbers.Parse(number, DefaultRegion)
	if err != nil {
		return number
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}
