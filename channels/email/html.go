package email

import (
	"html"
	"strings"
)

// htmlToText reduces an HTML body to plain text, simply: tags are dropped,
// block elements become line breaks, <blockquote> contents are dropped (it
// is quoted history), and everything from a mail client's quote container
// (Gmail's gmail_quote, Thunderbird's moz-cite-prefix, Outlook's
// divRplyFwdMsg, Yahoo's yahoo_quoted) on is cut. It is not a sanitizer: the
// result is text, never rendered as HTML.
func htmlToText(s string) string {
	var b strings.Builder
	quote := 0 // depth inside <blockquote>
	skip := "" // the element whose content is skipped (script, style...)
	pendingSpace := false
	write := func(t string) {
		if quote > 0 || skip != "" {
			return
		}
		// HTML collapses white space; line breaks come from tags.
		for _, r := range t {
			if isHTMLSpace(r) {
				pendingSpace = true
				continue
			}
			if pendingSpace && !endsWithNewline(&b) {
				b.WriteByte(' ')
			}
			pendingSpace = false
			b.WriteRune(r)
		}
	}
	newline := func() {
		pendingSpace = false
		if quote > 0 || skip != "" {
			return
		}
		b.WriteByte('\n')
	}
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			write(html.UnescapeString(s))
			break
		}
		write(html.UnescapeString(s[:lt]))
		s = s[lt:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				break
			}
			s = s[end+3:]
			continue
		}
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			break
		}
		tag := s[1:gt]
		s = s[gt+1:]
		closing := strings.HasPrefix(tag, "/")
		tag = strings.TrimPrefix(tag, "/")
		name := strings.ToLower(tagName(tag))
		if skip != "" {
			if closing && name == skip {
				skip = ""
			}
			continue
		}
		switch name {
		case "script", "style", "head", "title", "template":
			if !closing && !strings.HasSuffix(tag, "/") {
				skip = name
			}
		case "blockquote":
			if closing {
				if quote > 0 {
					quote--
				}
			} else {
				quote++
			}
			newline()
		case "br":
			newline()
		case "p", "div", "li", "tr", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr":
			if !closing && quoteContainer(tag) {
				return tidyText(b.String())
			}
			newline()
		}
	}
	return tidyText(b.String())
}

func tagName(tag string) string {
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return tag[:i]
		}
	}
	return tag
}

// quoteContainer reports whether a tag's attributes mark the start of the
// quoted history in a common mail client's HTML.
func quoteContainer(tag string) bool {
	t := strings.ToLower(tag)
	for _, marker := range []string{"gmail_quote", "moz-cite-prefix", "divrplyfwdmsg", "yahoo_quoted", "x_divrplyfwdmsg"} {
		if strings.Contains(t, marker) {
			return true
		}
	}
	return false
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}

func endsWithNewline(b *strings.Builder) bool {
	s := b.String()
	return s == "" || s[len(s)-1] == '\n'
}

// tidyText trims each line, and collapses runs of blank lines to one.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 || len(out) == 0 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
