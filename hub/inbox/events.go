package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/karerehub/karere/hub/identity"
)

// sessionCheckEvery is how often an open event stream checks that its
// session still lives (signed out elsewhere, or idle too long): the
// stream then ends and the page finds itself signed out.
const sessionCheckEvery = time.Minute

// events streams the practice's hub events as Server-Sent Events: one
// "data: {json}" per event (type, thread, id: never content) and a
// comment line every heartbeat. It ends when the client goes away, the
// session ends or the server shuts down.
func (h *Handler) events(w http.ResponseWriter, r *http.Request, rq *request) error {
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: pass events through at once
	// The stream outlives the server's write timeout.
	_ = rc.SetWriteDeadline(time.Time{})
	ch, stop := h.svc.Events.Subscribe(rq.sess.PracticeID)
	defer stop()
	w.WriteHeader(http.StatusOK)
	// retry: how long the browser waits before reconnecting.
	if _, err := fmt.Fprint(w, "retry: 5000\n: connected\n\n"); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return errors.New("inbox: event stream cannot flush")
	}
	beat := time.NewTicker(h.cfg.Heartbeat)
	defer beat.Stop()
	check := time.NewTicker(sessionCheckEvery)
	defer check.Stop()
	c, _ := r.Cookie(identity.SessionCookie)
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-h.done:
			return nil
		case ev := <-ch:
			b, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return nil
			}
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
		case <-check.C:
			if _, _, err := h.svc.Identity.Session(r.Context(), c.Value, false); err != nil {
				return nil
			}
			continue
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
