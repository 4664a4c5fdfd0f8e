package email

import (
	"strings"
)

// StripQuoted returns the new text of a reply: what the patient wrote,
// without the message they replied to or their signature.
//
// It cuts at the first line that starts a forwarded or quoted original
// ("-----Original Message-----", Outlook's line of underscores, an
// Outlook "From:/Sent:/To:/Subject:" block), at an attribution line
// ("On <date>, <name> wrote:", possibly wrapped over two or three lines, in
// English and the languages of common clients) and at a signature
// separator ("-- "). Lines quoted with '>' are dropped; when the patient
// answered between quoted lines (an attribution followed by both quoted
// and unquoted lines) their answers are kept. Trailing "Sent from my
// iPhone" style lines are dropped.
func StripQuoted(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")

	// 1. Hard cuts: everything after these is someone else's text, unquoted.
	for i := range lines {
		if isSeparatorLine(lines[i]) || isHeaderBlock(lines, i) {
			lines = lines[:i]
			break
		}
	}

	// 2. Attribution and quoted lines.
	drop := make([]bool, len(lines))
	for i := 0; i < len(lines); i++ {
		if isQuoted(lines[i]) {
			drop[i] = true
			continue
		}
		n := attributionLen(lines, i)
		if n == 0 {
			continue
		}
		if answeredInline(lines[i+n:]) {
			for j := i; j < i+n; j++ {
				drop[j] = true
			}
			i += n - 1
			continue
		}
		lines, drop = lines[:i], drop[:i]
		break
	}
	kept := lines[:0]
	for i, l := range lines {
		if !drop[i] {
			kept = append(kept, l)
		}
	}
	lines = trimEnd(kept)

	// 3. Signature: "-- " anywhere, a bare "--" near the end.
	for i, l := range lines {
		if l == "-- " || strings.TrimRight(l, " \t") == "--" && i >= len(lines)-12 {
			lines = trimEnd(lines[:i])
			break
		}
	}

	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t")
	}
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	return strings.Join(lines, "\n")
}

// trimEnd drops blank lines and mobile footers at the end.
func trimEnd(lines []string) []string {
	for len(lines) > 0 {
		l := lines[len(lines)-1]
		if strings.TrimSpace(l) != "" && !isMobileFooter(l) {
			break
		}
		lines = lines[:len(lines)-1]
	}
	return lines
}

func isQuoted(l string) bool {
	return strings.HasPrefix(strings.TrimLeft(l, " \t"), ">")
}

// isSeparatorLine reports lines that introduce a whole original message.
func isSeparatorLine(l string) bool {
	t := strings.TrimSpace(l)
	if len(t) >= 20 && strings.Trim(t, "_") == "" {
		return true // Outlook: ________________________________
	}
	lower := strings.ToLower(t)
	if lower == "begin forwarded message:" {
		return true // Apple Mail
	}
	if !strings.HasPrefix(t, "--") {
		return false
	}
	switch strings.TrimSpace(strings.Trim(lower, "- ")) {
	case "original message", "forwarded message", "original email",
		"ursprüngliche nachricht", "message d'origine", "mensaje original",
		"oorspronkelijk bericht", "messaggio originale", "reply message":
		return true
	}
	return false
}

var headerBlockFrom = []string{"from:", "de:", "von:", "van:", "da:"}
var headerBlockNext = []string{"sent:", "date:", "to:", "subject:", "cc:",
	"envoyé :", "envoyé:", "à :", "objet :", "gesendet:", "an:", "betreff:", "datum:",
	"enviado:", "para:", "asunto:", "verzonden:", "aan:", "onderwerp:"}

// isHeaderBlock reports an Outlook-style header block starting at line i:
// "From: ..." followed within four lines by another header ("Sent: ...").
func isHeaderBlock(lines []string, i int) bool {
	if !hasAnyPrefix(headerKey(lines[i]), headerBlockFrom) {
		return false
	}
	for j := i + 1; j < len(lines) && j <= i+4; j++ {
		if hasAnyPrefix(headerKey(lines[j]), headerBlockNext) {
			return true
		}
	}
	return false
}

// headerKey lowercases a line and drops the markup clients put around
// header names in text ("*From:*", "**From:**").
func headerKey(l string) string {
	t := strings.ToLower(strings.TrimSpace(l))
	t = strings.TrimLeft(t, "*")
	if k, v, ok := strings.Cut(t, ":"); ok {
		t = strings.TrimRight(k, "*") + ":" + strings.TrimLeft(v, "*")
	}
	return t
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Attribution lines: "On Thu, 4 Dec 2025 at 10:30, Kōwhai Health <...> wrote:"
// and its translations. "I te <date>, ka tuhi a <name>:" is the te reo
// Māori form (best effort: few clients ship one).
var attributionStarts = []string{"on ", "le ", "am ", "el ", "op ", "il ", "em ", "i te ", "i "}
var attributionEnds = []string{"wrote:", "writes:", "a écrit :", "a écrit:", "schrieb:", "escribió:",
	"schreef:", "ha scritto:", "escreveu:", "tuhi:"}

// attributionLen returns how many lines (1 to 3) the attribution starting
// at line i spans, or 0.
func attributionLen(lines []string, i int) int {
	joined := ""
	for n := 1; n <= 3 && i+n <= len(lines); n++ {
		t := strings.TrimSpace(lines[i+n-1])
		if t == "" || isQuoted(t) {
			return 0
		}
		if joined != "" {
			joined += " "
		}
		joined += strings.ToLower(t)
		if len(joined) > 400 {
			return 0
		}
		if !isAttributionText(joined) {
			continue
		}
		if hasAnyPrefix(joined, attributionStarts) {
			return n
		}
		// "Kōwhai Health <...> wrote:" with no date: only when quoted text
		// follows, so "Mum wrote:" in the patient's own words survives.
		if n == 1 && nextNonBlankQuoted(lines, i+1) {
			return 1
		}
		return 0
	}
	return 0
}

func isAttributionText(s string) bool {
	return hasAnySuffix(s, attributionEnds) ||
		strings.HasSuffix(s, ":") && (strings.Contains(s, " ka tuhi ") || strings.Contains(s, " i tuhi "))
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

func nextNonBlankQuoted(lines []string, from int) bool {
	for _, l := range lines[from:] {
		if strings.TrimSpace(l) != "" {
			return isQuoted(l)
		}
	}
	return false
}

// answeredInline reports whether the lines after an attribution interleave
// quoted lines with the patient's own: an unquoted, non-footer line after a
// quoted one.
func answeredInline(rest []string) bool {
	sawQuote := false
	for _, l := range rest {
		switch {
		case isQuoted(l):
			sawQuote = true
		case strings.TrimSpace(l) == "" || isMobileFooter(l):
		case sawQuote:
			return true
		default:
			// Unquoted text right after the attribution: an unquoted
			// original (some clients do that), not an inline answer.
			return false
		}
	}
	return false
}

// isMobileFooter reports the lines phones and apps append.
func isMobileFooter(l string) bool {
	t := strings.ToLower(strings.TrimSpace(l))
	if len(t) > 60 {
		return false
	}
	return strings.HasPrefix(t, "sent from my ") || strings.HasPrefix(t, "sent from outlook") ||
		strings.HasPrefix(t, "sent from yahoo mail") || strings.HasPrefix(t, "sent from mail for windows") ||
		strings.HasPrefix(t, "get outlook for ") || strings.HasPrefix(t, "sent via ") ||
		strings.HasPrefix(t, "sent from the all new aol app")
}
