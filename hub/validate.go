package hub

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for numbers written without a
// country code: Karere serves New Zealand practices.
const DefaultRegion = "NZ"

// Phone is a parsed phone number.
type Phone struct {
	E164 string // the number in E.164, "+64211234567"
	// Valid: the number exists in its country's numbering plan.
	Valid bool
	// Mobile: it can receive SMS (a mobile number, or a plan where fixed
	// and mobile numbers share ranges).
	Mobile bool
}

// ParsePhone parses a number written locally (New Zealand, DefaultRegion)
// or internationally; ok is false when it is not a phone number at all.
// It is the one phone parser of Karere: validation of API input, the SMS
// channel's check of a recipient and its reading of a sender all use it.
func ParsePhone(s string) (p Phone, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return Phone{}, false
	}
	n, err := phonenumbers.Parse(s, DefaultRegion)
	if err != nil {
		return Phone{}, false
	}
	p.E164 = phonenumbers.Format(n, phonenumbers.E164)
	if p.Valid = phonenumbers.IsValidNumber(n); p.Valid {
		switch phonenumbers.GetNumberType(n) {
		case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
			p.Mobile = true
		}
	}
	return p, true
}

// NormalizePhone parses a phone number (local NZ form or international)
// and returns it in E.164. field names the input in the error.
func NormalizePhone(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid(field, "invalid_phone", "%s: empty", field)
	}
	if len(s) > 32 {
		return "", Invalid(field, "invalid_phone", "%s: too long to be a phone number", field)
	}
	p, ok := ParsePhone(s)
	if !ok || !p.Valid {
		return "", Invalid(field, "invalid_phone", "%s: not a valid phone number (use international form, +64 21 123 4567, or 021 123 4567)", field)
	}
	return p.E164, nil
}

// NormalizeEmail checks a bare email address (no display name, no CR/LF)
// and returns it trimmed.
func NormalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid(field, "invalid_email", "%s: empty", field)
	}
	if len(s) > 254 || strings.ContainsAny(s, "\r\n<> ,;") {
		return "", Invalid(field, "invalid_email", "%s: not a valid email address", field)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", Invalid(field, "invalid_email", "%s: not a valid email address", field)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") {
		return "", Invalid(field, "invalid_email", "%s: address needs a domain like example.nz", field)
	}
	return s, nil
}

var (
	localeRe     = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	externalIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// ValidLocale reports whether s looks like a BCP 47 tag ("en-NZ", "mi-NZ").
func ValidLocale(s string) bool { return localeRe.MatchString(s) }

// CheckExternalID validates an id chosen by the practice's system.
func CheckExternalID(field, s string) error {
	if !externalIDRe.MatchString(s) {
		return Invalid(field, "invalid_id", "%s: 1-128 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit", field)
	}
	return nil
}

// CheckChannels validates an ordered channel list: known names, no repeats.
func CheckChannels(field string, chans []string) error {
	seen := map[string]bool{}
	for _, c := range chans {
		known := false
		for _, k := range PatientChannels {
			if c == k {
				known = true
			}
		}
		if !known {
			return Invalid(field, "invalid_channel", "%s: unknown channel %q (use portal, sms or email)", field, c)
		}
		if seen[c] {
			return Invalid(field, "invalid_channel", "%s: channel %q listed twice", field, c)
		}
		seen[c] = true
	}
	return nil
}

// CheckTimeZone validates an IANA time zone name.
func CheckTimeZone(field, tz string) (*time.Location, error) {
	if tz == "" || tz == "Local" {
		return nil, Invalid(field, "invalid_timezone", "%s: give an IANA time zone such as Pacific/Auckland", field)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, Invalid(field, "invalid_timezone", "%s: unknown time zone %q (use an IANA name such as Pacific/Auckland)", field, tz)
	}
	return loc, nil
}

// CheckLine accepts one line of printable UTF-8 of at most max characters.
func CheckLine(field, s string, max int) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return Invalid(field, "invalid_text", "%s: at most %d characters of UTF-8", field, max)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return Invalid(field, "invalid_text", "%s: one line, without control characters", field)
	}
	return nil
}
