// Package sms is Karere's SMS channel: Twilio in both directions.
//
// # Sending
//
// Sender implements hub.Channel. Each practice brings its own Twilio
// account (hub.SMSSettings, looked up per send through Settings). Before
// any call, Send normalises the number to E.164 (default region NZ) and
// refuses anything that is not a valid mobile number, and measures the text
// with templates.Measure against the practice's MaxSegments
// (DefaultMaxSegments when unset). Every API call goes through twilio-go,
// which builds the request, authenticates it and decodes Twilio's answers
// and errors; Karere only supplies a client.BaseClient that moves
// api.twilio.com to Config.BaseURL (KARERE_TWILIO_BASE_URL) and an
// http.Client with a timeout that carries the worker's context.
//
// Failures are classified for the queue: no answer, 408, 429 and 5xx are
// temporary and retried; known permanent Twilio codes and other 4xx fail
// the delivery with a reason ("invalid_number", "unsubscribed",
// "unreachable", "provider_auth"...) so the patient's next channel is
// tried. Errors keep Twilio's status and code but never its message text,
// which can quote the number.
//
// # Webhooks
//
// Webhooks serves Twilio's status callbacks (StatusPath) and incoming
// messages (InboundPath), both with ?practice=ID. A request is acted on
// only when X-Twilio-Signature verifies with that practice's auth token
// over PublicURL + path + query and the POST params; otherwise it gets 403
// and changes nothing. The package never logs numbers or text.
//
// # Twilio behaviours relied on
//
//   - Messages API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
//     HTTP Basic auth AccountSid:AuthToken, form-encoded To, Body, From or
//     MessagingServiceSid, StatusCallback; 201 with JSON carrying "sid".
//     Errors are JSON {code, message, more_info, status}. There is no
//     idempotency key, so a Send repeated after a crash can text twice.
//   - Twilio signs webhooks with HMAC-SHA1 of the full URL it called
//     (query included) followed by the POST params sorted by name, key and
//     value concatenated, base64-encoded, using the account's auth token.
//   - Status callbacks are POSTed to the StatusCallback given at send time
//     with MessageSid, MessageStatus (queued, sending, sent, delivered,
//     undelivered, failed...) and ErrorCode; they can arrive out of order,
//     so only final states are recorded and the hub must accept repeats.
//   - Incoming messages are POSTed with From (E.164), Body and MessageSid,
//     and answered with TwiML (text/xml).
//   - On long codes Twilio handles opt-out keywords itself (STOP, STOPALL,
//     UNSUBSCRIBE, CANCEL, END, QUIT; only the whole, single-word body): it
//     replies, blocks further sends with error 21610, and still forwards the
//     message to the webhook. It opts back in on START, UNSTOP and YES, and
//     answers HELP/INFO with its own text unless Advanced Opt-Out on a
//     Messaging Service is configured. Karere records opt-outs for every
//     STOP synonym (so its state agrees with Twilio's block) but opts back
//     in only on START/UNSTOP, because YES answers a reminder: a patient
//     who texts YES while opted out stays opted out in Karere.
//   - CANCEL is an opt-out keyword at Twilio, so reminder wording must ask
//     for N (not CANCEL) to cancel an appointment.
package sms
