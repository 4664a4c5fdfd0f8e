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
//   - a subject or HTML part outside email, an empty body;
//   - an SMS that would need more than the practice's segment limit when
//     rendered with long worst-case names (see Measure).
//
// Render applies the same structural checks, and templates run with
// Option("missingkey=error").
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
