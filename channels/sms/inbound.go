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
// Every text is acted on once per MessageSid, in the order the sids first
// arrive: a repeat (Twilio retrying after a lost answer, or a captured
// signed request sent again, which Twilio's signature cannot tell apart)
// changes nothing and is answered with empty TwiML. So a replayed START
// does not undo a later STOP, nor a replayed Y a later N. Keywords are
// recorded by the core (SetOptOutOnce, AnswerConfirmation, ClaimInbound);
// ReceiveReply drops a duplicate reply.
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
			applied, err := w.hub.SetOptOutOnce(ctx, req.practiceID, hub.ChannelSMS, from, kw == kwStop, w.now(), hub.ChannelSMS, sid)
			if err != nil {
				w.fail(rw, "SetOptOutOnce", err)
				return
			}
			if kw == kwStart && applied {
				writeTwiML(rw, StartReply)
			} else {
				writeTwiML(rw, "")
			}
			return
		case kwHelp:
			first, err := w.hub.ClaimInbound(ctx, req.practiceID, hub.ChannelSMS, sid)
			if err != nil {
				w.fail(rw, "ClaimInbound", err)
				return
			}
			if first {
				writeTwiML(rw, req.settings.HelpText)
			} else {
				writeTwiML(rw, "")
			}
			return
		case kwYes, kwNo:
			found, err := w.hub.AnswerConfirmation(ctx, req.practiceID, from, kw == kwYes, sid)
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
