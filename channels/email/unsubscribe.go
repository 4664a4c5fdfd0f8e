package email

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/karerehub/karere/hub"
)

// Unsubscriber stops email to the address a delivery went to (hub/patients
// implements it).
type Unsubscriber interface {
	// UnsubscribeDelivery opts out the address delivery id was sent to,
	// provided the patient (or guardian) still has it: sentTo tells
	// whether an address is the one the link was issued for (nil for a
	// link of the old form, which does not say). It returns the
	// practice's name for the confirmation page, and whether an address
	// was opted out.
	UnsubscribeDelivery(ctx context.Context, deliveryID string, sentTo func(address string) bool) (practice string, done bool, err error)
}

// UnsubscribeHandler serves the List-Unsubscribe link of every notice
// (RFC 8058): POST unsubscribes (the one-click request mail programs send,
// or the button on the page); GET only shows a page with that button,
// because mail scanners fetch links and must not unsubscribe anyone. The
// token is the delivery's, signed with the reply secret (no lookup is
// needed to refuse a forged one), and bound to the address the delivery
// was sent to: a link in an old email opts out that address only, never
// the address the patient has since given.
func UnsubscribeHandler(secret []byte, u Unsubscriber, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		id, sentTo, err := ParseUnsubscribeToken(secret, r.PathValue("token"))
		if err != nil {
			unsubPage(w, http.StatusNotFound, "This unsubscribe link is not valid.", "", false)
			return
		}
		if r.Method == http.MethodGet {
			unsubPage(w, http.StatusOK, "Stop emails?", "", true)
			return
		}
		practice, done, err := u.UnsubscribeDelivery(r.Context(), id, sentTo)
		if err != nil {
			var he *hub.Error
			if errors.As(err, &he) && he.Kind == hub.KindNotFound {
				unsubPage(w, http.StatusNotFound, "This unsubscribe link is not valid.", "", false)
				return
			}
			if log != nil {
				log.Error("unsubscribe failed", "delivery", id, "err", err)
			}
			unsubPage(w, http.StatusServiceUnavailable, "Something went wrong. Please try again in a minute.", "", false)
			return
		}
		if !done {
			unsubPage(w, http.StatusOK, practice+" no longer sends email to the address this link was for.",
				"Nothing was changed.", false)
			return
		}
		unsubPage(w, http.StatusOK, "You will no longer get email from "+practice+".",
			"Appointment and prescription messages will reach you another way if you have one, such as the patient portal.", false)
	})
}

var unsubTmpl = template.Must(template.New("u").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Email preferences</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.6rem 1.2rem;background:#0b6b50;color:#fff;border:0;border-radius:.3rem}</style>
</head><body><h1>{{.Title}}</h1>{{if .Text}}<p>{{.Text}}</p>{{end}}
{{if .Form}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe from email</button></form>{{end}}
</body></html>`))

func unsubPage(w http.ResponseWriter, status int, title, text string, form bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = unsubTmpl.Execute(w, struct {
		Title, Text string
		Form        bool
	}{title, text, form})
}
