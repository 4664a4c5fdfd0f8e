// Package email is Karere's email channel: SMTP both ways.
//
// Outbound, Sender implements hub.Channel. It renders a hub.Message as an
// RFC 5322 message with go-message (text/plain, or multipart/alternative
// with an HTML part, UTF-8 quoted-printable; or PGP/MIME when the message
// carries OpenPGP ciphertext), signs it with DKIM when the practice set a
// key, and submits it to the practice's relay (or the default relay) over a
// small pool of reusable connections. SMTP 4xx answers and network failures
// are temporary; 5xx answers are hub.Permanent.
//
// Every message carries two addresses that route back to the hub without a
// lookup table: Reply-To is reply+TOKEN@<reply domain>, naming the thread
// (or the delivery) the reply belongs to, and the envelope sender is
// bounce+TOKEN@<reply domain> (VERP), naming the delivery a bounce is
// about. A TOKEN is the kind and id plus a truncated HMAC-SHA256, in
// lowercase base32: it fits in a local part, cannot be guessed, and is
// checked in constant time (see ReplyToken).
//
// Inbound, Server wraps a go-smtp server that accepts mail only for those
// two kinds of addresses. A reply is parsed (ParseReply: plain text
// preferred, HTML reduced to text, quoted history and signatures cut by
// StripQuoted, PGP/MIME ciphertext passed through) and handed to the hub,
// which encrypts it on arrival. A bounce is parsed as a delivery status
// notification (ParseDSN) and recorded on the delivery.
//
// Decisions: outbound mail carries no Auto-Submitted header (a notice from
// the practice is a letter the patient may answer, and some filters treat
// auto-generated mail as bulk) but does carry X-Auto-Response-Suppress, and
// the Server drops automatic answers (RFC 3834 Auto-Submitted, Precedence
// bulk/junk/list, X-Autoreply) instead of storing them as replies. Mail to
// a bounce address that is not an RFC 3464 report (vacation notices sent to
// the envelope sender, non-standard bounces) is accepted and dropped. A
// reply with no new text above the quote is refused (550 5.6.0) so the
// patient learns it did not arrive.
//
// Nothing in this package logs message bodies or addresses.
//
// Standards followed:
//
//   - RFC 5321, Simple Mail Transfer Protocol
//   - RFC 5322, Internet Message Format
//   - RFC 2045, 2046, 2047, MIME: format, media types, encoded words
//   - RFC 3156, MIME Security with OpenPGP (PGP/MIME)
//   - RFC 3464, delivery status notifications (and RFC 3461 RET/ENVID)
//   - RFC 6376, DomainKeys Identified Mail signatures
//   - RFC 8058, one-click unsubscribe (List-Unsubscribe-Post)
//   - RFC 3834, automatic responses (auto-replies are not stored as replies)
package email
