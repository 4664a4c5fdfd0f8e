package sms

import (
	"net/http"

	"github.com/karerehub/karere/hub"
)

// StartReply confirms START.
const StartReply = "You will get texts from this number again. Reply STOP to stop them."

// InboundHandler serves POST InboundPath?practice=ID, Twilio's incoming
// message webhook. The whole body, trimmed and case-insensitive, is matched
// against keywords (see parseKeyword):
//
//   - STOP and its synonyms: SetOptOut(sms, true); the answer is empty
//     TwiML, because Twilio answers and blocks opt-out keywords itself, and
//     refuses a reply to the number that just opted out.
//   - START, UNSTOP: SetOptOut(sms, false), answered with StartReply.
//   - HELP, INFO: answered with the practice's HelpText (the core fills in
//     a default naming the practice when it set none).
//   - Y/YES/N/NO (and āe/kāo): Hub.AnswerConfirmation; when no reminder is
//     waiting for an answer, the text is an ordinary reply.
//   - anything else: Hub.ReceiveReply, answered with empty TwiML; the text
//     is never echoed.
//
// The sender's number is normalised to E.164 (region NZ).
//
// Repeats of one MessageSid (Twilio retrying after a lost answer): opt-out
// and opt-in are idempotent and HELP only answers; ReceiveReply drops the
// duplicate. A repeated Y/N whose first delivery was applied finds no
// reminder waiting and lands once as a reply; making it exactly-once needs
// the MessageSid in AnswerConfirmation.
func (w *Webhooks) InboundHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		req, ok := w.auth.authenticate(rw, r)
		if !ok {
			return
		}
		from := req.form.Get("From")
		sid := req.form.Get("MessageSid")
		if sid == "" {
			sid = req.form.Get("SmsSid")
		}
		if from == "" || sid == "" {
			http.Error(rw, "From or MessageSid missing", http.StatusBadRequest)
			return
		}
		from = normaliseFrom(from)
		body := req.form.Get("Body")
		ctx := r.Context()

		switch kw := parseKeyword(body); kw {
		case kwStop, kwStart:
			if err := w.hub.SetOptOut(ctx, req.practiceID, hub.ChannelSMS, from, kw == kwStop, w.now()); err != nil {
				w.fail(rw, "SetOptOut", err)
				return
			}
			if kw == kwStop {
				writeTwiML(rw, "")
			} else {
				writeTwiML(rw, StartReply)
			}
			return
		case kwHelp:
			writeTwiML(rw, req.settings.HelpText)
			return
		case kwYes, kwNo:
			found, err := w.hub.AnswerConfirmation(ctx, req.practiceID, from, kw == kwYes)
			if err != nil {
				w.fail(rw, "AnswerConfirmation", err)
				return
			}
			if found {
				writeTwiML(rw, "")
				return
			}
		}
		_, err := w.hub.ReceiveReply(ctx, hub.InboundText{
			PracticeID: req.practiceID,
			Via:        hub.ChannelSMS,
			From:       from,
			ProviderID: sid,
			Text:       body,
		})
		if err != nil {
			w.fail(rw, "ReceiveReply", err)
			return
		}
		writeTwiML(rw, "")
	})
}
