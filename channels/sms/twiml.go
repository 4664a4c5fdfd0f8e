package sms

import (
	"bytes"
	"encoding/xml"
	"net/http"
)

// twiml renders a messaging TwiML response: empty, or one reply message.
func twiml(message string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Response>")
	if message != "" {
		b.WriteString("<Message>")
		_ = xml.EscapeText(&b, []byte(message)) // a bytes.Buffer never fails
		b.WriteString("</Message>")
	}
	b.WriteString("</Response>")
	return b.Bytes()
}

// writeTwiML answers a Twilio messaging webhook.
func writeTwiML(w http.ResponseWriter, message string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(twiml(message))
}
