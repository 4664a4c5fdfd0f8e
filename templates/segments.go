package templates

import "unicode/utf16"

// SMS encodings reported by Measure.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Per-segment capacities. A message that fits one segment uses the whole
// 140-octet payload; a concatenated message loses 6 octets per segment to the
// user data header (UDH), which leaves 153 septets or 67 UTF-16 code units.
const (
	gsmSingle  = 160
	gsmMulti   = 153
	ucs2Single = 70
	ucs2Multi  = 67
)

// Segments is how an SMS text would be sent.
type Segments struct {
	// Encoding is EncodingGSM7 when every character is in the GSM 03.38
	// basic set or its extension table, otherwise EncodingUCS2.
	Encoding string `json:"encoding"`
	// Units is the length in the chosen encoding: septets for GSM-7 (an
	// extension-table character such as € or { costs 2), UTF-16 code units
	// for UCS-2 (a character outside the BMP, such as an emoji, costs 2).
	Units int `json:"units"`
	// Segments is the number of SMS parts. Empty text is 0 segments.
	Segments int `json:"segments"`
	// PerSegment is the capacity of each part in Units: 160 or 153 for
	// GSM-7, 70 or 67 for UCS-2, depending on whether it is concatenated.
	PerSegment int `json:"per_segment"`
}

// gsmBasic is the GSM 03.38 default alphabet (without the escape code 0x1B).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the GSM 03.38 extension table: each is sent as ESC + code,
// so it costs two septets.
const gsmExtension = "\f^{}\\[~]|€"

var (
	gsmBasicSet = runeSet(gsmBasic)
	gsmExtSet   = runeSet(gsmExtension)
)

func runeSet(s string) map[rune]bool {
	m := make(map[rune]bool, len(s))
	for _, r := range s {
		m[r] = true
	}
	return m
}

// Measure reports the encoding, length and number of segments text would be
// sent as.
//
// Characters are never split across segments: a GSM-7 escape pair (ESC +
// extension character) and a UTF-16 surrogate pair always travel in one
// part, so a concatenated segment may hold one unit less than PerSegment.
// This matches what handsets and providers do when they split a message.
//
// Empty text measures 0 segments (Twilio bills an empty body as 1, but
// Karere never sends one: Validate refuses an empty body). Text is measured
// as given; no "smart encoding" replacement of curly quotes or dashes is
// assumed, so a single ’ turns the message into UCS-2.
func Measure(text string) Segments {
	gsm := true
	for _, r := range text {
		if !gsmBasicSet[r] && !gsmExtSet[r] {
			gsm = false
			break
		}
	}
	single, multi, enc := gsmSingle, gsmMulti, EncodingGSM7
	if !gsm {
		single, multi, enc = ucs2Single, ucs2Multi, EncodingUCS2
	}
	units := 0
	for _, r := range text {
		units += unitsOf(r, gsm)
	}
	s := Segments{Encoding: enc, Units: units, PerSegment: single}
	switch {
	case units == 0:
		return s
	case units <= single:
		s.Segments = 1
		return s
	}
	s.PerSegment = multi
	s.Segments = 1
	used := 0
	for _, r := range text {
		u := unitsOf(r, gsm)
		if used+u > multi {
			s.Segments++
			used = 0
		}
		used += u
	}
	return s
}

// unitsOf is the cost of r in septets (gsm) or UTF-16 code units.
func unitsOf(r rune, gsm bool) int {
	if gsm {
		if gsmExtSet[r] {
			return 2
		}
		return 1
	}
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1 // invalid UTF-8 is sent as U+FFFD
}
