// Package templates renders Karere's patient messages: appointment
// reminders, confirmations and cancellations, prescription-ready alerts,
// secure-message notices and plain practice notices, by SMS, email and the
// patient portal, in New Zealand English (en-NZ), te reo Māori (mi-NZ) and
// any other locale a practice adds.
//
// It is a leaf library: it imports no other Karere package.
//
// # Templates and data
//
// A Template is one kind, for one channel, in one locale. SMS and portal
// bodies, email subjects and plain-text email bodies are text/template;
// the HTML email body is html/template, so values are escaped for their
// context. Every template sees the same fixed Data: pre-formatted text such
// as .RecipientName, .AppointmentTime ("Thu 4 Dec 10:30", or
// "Rāpare 4 Hakihea 10:30" in te reo Māori) and .Pharmacy, plus the
// .IsGuardian flag for wording addressed to a guardian. Fields lists them
// for the API docs and the editor; NewData builds Data and FormatTime and
// FormatDate format times in the practice's time zone.
//
// # The rules, checked when a template is saved
//
// Validate parses each part and walks its parse tree (text/template/parse),
// resolving every field chain against Data by reflection, so a misspelt
// field is refused with its line ("body line 2: unknown field .Pharmacist")
// long before a reminder run would execute it. It also refuses:
//
//   - {{template}}, {{define}}, {{block}} and {{range}};
//   - any function except upper, lower, default and the harmless built-ins
//     and, or, not, eq, ne, lt, le, gt, ge, len, print and printf — nothing
//     a template calls can reach outside it;
//   - printing the whole data set ({{.}} at the top level);
//   - a printf whose format is not a literal string in the template, or
//     has a verb with a width or precision over MaxFormatWidth, or with *
//     or an argument index [n] (see Limits);
//   - a subject or HTML part outside email, an empty body;
//   - a template that goes over a render limit (see Limits) with SampleData
//     or with long worst-case data;
//   - an SMS that would need more than the practice's segment limit when
//     rendered with long worst-case names (see Measure).
//
// Render applies the same structural checks, and templates run with
// Option("missingkey=error").
//
// # Limits
//
// A template is a small program that a practice writes and that runs on
// every send and preview, so what one run may cost is bounded whatever the
// template says. Without the limits, 175 bytes of nested printf rendered
// 100 MB in a preview.
//
// Formats. printf's format must be a literal string, so the checker sees
// every format in the parse tree: {{printf .Text}}, {{.Text | printf}} (a
// piped value is printf's last argument, never its format) and a format
// from a variable are refused. Each verb's width and precision is at most
// MaxFormatWidth (64), so a verb adds at most 64 bytes: "%064d" is
// accepted, "%065d" and "%01000000d" are not. A width or precision taken
// from an argument (*) and an argument index ("%[1]s%[1]s..."), which
// prints one argument as often as it is written, are refused. print has
// no format: its output is its arguments.
//
// Size. Each part has a byte limit for its channel: MaxSMSBytes,
// MaxPortalBytes, MaxSubjectBytes, MaxEmailTextBytes and
// MaxEmailHTMLBytes. The limit holds while the template runs, not after:
// the template executes into a bounded writer that refuses the first write
// over the limit, which stops the template there. Reuse amplifies without
// any wide format ({{$a = print $a $a}} doubles a variable, and
// {{with print . .}} doubles dot), and a value need never be printed to
// cost memory, so every function a template calls (upper, lower, default,
// print, printf) refuses a result longer than the part's limit, and print
// and printf refuse arguments already that long before formatting them.
// No value a template computes is longer than its part's limit, and one
// call allocates at most a few times that.
//
// Time. Render stops once it has run for MaxRenderTime (100 ms), all
// parts together. text/template cannot be cancelled, so two things make
// that hold. The structure bounds the work: with no {{range}}, {{template}} or
// recursion, each node of the parse tree runs at most once, so a run does
// at most as many steps as the template has nodes, each on values no
// longer than the limit. The deadline is checked on every write and every
// function call, so a template built to do many such steps (a 32 KiB
// template upper-casing a 16 KiB value a thousand times) stops there. A
// single step cannot be interrupted, but the size limits keep each one
// small. Parsing and checking are not timed: they are linear in the
// template's length, which callers bound (the hub at 32 KiB a part), and
// happen once per template text.
//
// Going over a limit is a *ValidationError naming the part (and the line,
// when a function call went over) that wraps ErrTooLarge or
// ErrRenderTimeout, so callers can tell with errors.Is. Validate renders
// with SampleData and again with long worst-case data (long names and a
// notice text of 2,000 four-byte characters, the longest the hub accepts)
// so that a practice is told when it saves or previews the template, not
// when a reminder run fails.
//
// # SMS segments
//
// Measure implements GSM 03.38 counting: GSM-7 (160 septets, 153 per part
// when concatenated, extension characters such as € and { costing two)
// or UCS-2 (70 UTF-16 units, 67 per part). Any macron makes a message UCS-2.
// Escape pairs and surrogate pairs are never split across parts.
//
// # Defaults and privacy
//
// Default returns the built-in template for every kind and channel in en-NZ
// and mi-NZ, embedded from defaults/<locale>/<kind>.<part>.tmpl. The
// defaults never name a medicine or the reason for a visit, since an SMS is
// often read on a shared lock screen: a secure_message_notice says only that
// a new secure message is waiting in the portal, and prescription_ready says
// only where to collect. Data has no field that could carry either.
package templates
