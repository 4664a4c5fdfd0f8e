package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/messaging"
	"github.com/karerehub/karere/hub/pgp"
)

func (s messagingAPI) routes() {
	for _, o := range []struct{ prefix, kind string }{
		{"/v1/patients/{external_id}", hub.OwnerPatient},
		{"/v1/staff/{staff_id}", hub.OwnerStaff},
		{"/v1/team-key", hub.OwnerTeam},
	} {
		kind := o.kind
		keyPath := o.prefix + "/key"
		if kind == hub.OwnerTeam {
			keyPath = o.prefix
		}
		s.Authed("PUT "+keyPath, func(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
			return s.putKey(w, r, a, owner(r, kind))
		})
		s.Authed("GET "+keyPath, func(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
			return s.getKeys(w, r, a, owner(r, kind))
		})
		if kind != hub.OwnerTeam {
			s.Authed("PUT "+keyPath+"/locked", func(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
				return s.putLockedKey(w, r, a, owner(r, kind))
			})
			s.Authed("GET "+keyPath+"/locked", func(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
				return s.getLockedKey(w, r, a, owner(r, kind))
			})
		}
	}
	s.Authed("GET /v1/staff", s.listStaff)
	s.Authed("PUT /v1/team-key/grants/{staff_id}", s.putGrant)
	s.Authed("GET /v1/team-key/grants/{staff_id}", s.getGrant)
	s.Authed("DELETE /v1/team-key/grants/{staff_id}", s.deleteGrants)
	s.Authed("GET /v1/keys/{external_id}", s.recipientKeys)
	s.Authed("POST /v1/threads", s.postThread)
	s.Authed("GET /v1/threads", s.listThreads)
	s.Authed("GET /v1/threads/{id}", s.getThread)
	s.Authed("PATCH /v1/threads/{id}", s.patchThread)
	s.Authed("POST /v1/threads/{id}/messages", s.postMessage)
	s.Authed("GET /v1/threads/{id}/messages", s.listMessages)
	s.Authed("POST /v1/threads/{id}/read", s.markThreadRead)
}

func owner(r *http.Request, kind string) messaging.KeyOwner {
	switch kind {
	case hub.OwnerPatient:
		return messaging.KeyOwner{Kind: kind, Ref: r.PathValue("external_id")}
	case hub.OwnerStaff:
		return messaging.KeyOwner{Kind: kind, Ref: r.PathValue("staff_id")}
	}
	return messaging.KeyOwner{Kind: kind}
}

// readOpenPGP reads an OpenPGP body: armored text, binary, or a JSON
// object {"<field>": "<armored>"}.
func readOpenPGP(w http.ResponseWriter, r *http.Request, limit int64, field string) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, hub.ErrTooLarge
		}
		return nil, hub.Invalid("", "unreadable_body", "could not read the request body")
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var v map[string]string
		if err := decodeBytes(body, &v); err != nil {
			return nil, err
		}
		armored, ok := v[field]
		if !ok || len(v) != 1 {
			return nil, hub.Invalid(field, "missing_field", "%s: send {\"%s\": \"-----BEGIN PGP ...\"} or the armored text itself", field, field)
		}
		return []byte(armored), nil
	}
	if len(body) == 0 {
		return nil, hub.Invalid("", "empty_body", "the request needs an OpenPGP body (armored or binary)")
	}
	return body, nil
}

type keyJSON struct {
	Fingerprint  string     `json:"fingerprint"`
	Algorithm    string     `json:"algorithm"`
	CreatedAt    time.Time  `json:"created_at"`
	SupersededAt *time.Time `json:"superseded_at"`
	Armored      string     `json:"armored"`
}

func toKeyJSON(k *hub.Key) keyJSON {
	return keyJSON{Fingerprint: k.Fingerprint, Algorithm: k.Algorithm, CreatedAt: k.Created,
		SupersededAt: k.Superseded, Armored: string(k.Armored)}
}

func (s messagingAPI) putKey(w http.ResponseWriter, r *http.Request, a hub.Actor, o messaging.KeyOwner) error {
	body, err := readOpenPGP(w, r, messaging.MaxKeyBytes, "key")
	if err != nil {
		return err
	}
	kv, err := s.svc.Messaging.PutKey(r.Context(), a, o, body)
	if err != nil {
		return err
	}
	out := map[string]any{"fingerprint": kv.Key.Fingerprint, "algorithm": kv.Key.Algorithm, "user_id": kv.Public.UserID,
		"key_created_at": kv.Public.Created, "expires_at": kv.Public.Expires, "created_at": kv.Key.Created}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s messagingAPI) getKeys(w http.ResponseWriter, r *http.Request, a hub.Actor, o messaging.KeyOwner) error {
	ks, err := s.svc.Messaging.Keys(r.Context(), a, o)
	if err != nil {
		return err
	}
	out := map[string]any{"current": nil, "previous": []keyJSON{}}
	prev := []keyJSON{}
	for i := range ks {
		if ks[i].Superseded == nil && out["current"] == nil {
			out["current"] = toKeyJSON(&ks[i])
		} else {
			prev = append(prev, toKeyJSON(&ks[i]))
		}
	}
	out["previous"] = prev
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s messagingAPI) putLockedKey(w http.ResponseWriter, r *http.Request, a hub.Actor, o messaging.KeyOwner) error {
	body, err := readOpenPGP(w, r, messaging.MaxKeyBytes, "key")
	if err != nil {
		return err
	}
	lk, err := s.svc.Messaging.PutLockedKey(r.Context(), a, o, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"fingerprint": lk.Fingerprint, "updated_at": lk.Updated})
	return nil
}

func (s messagingAPI) getLockedKey(w http.ResponseWriter, r *http.Request, a hub.Actor, o messaging.KeyOwner) error {
	lk, err := s.svc.Messaging.LockedKey(r.Context(), a, o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"fingerprint": lk.Fingerprint, "updated_at": lk.Updated, "armored": string(lk.Armored)})
	return nil
}

func (s messagingAPI) listStaff(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	staff, keys, err := s.svc.Messaging.ListStaff(r.Context(), a)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, st := range staff {
		out = append(out, map[string]any{"id": st.ID, "name": st.Name, "email": st.Email, "fingerprint": keys[st.ID]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": out})
	return nil
}

func (s messagingAPI) putGrant(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	body, err := readOpenPGP(w, r, messaging.MaxKeyBytes, "grant")
	if err != nil {
		return err
	}
	if g := r.URL.Query().Get("granted_by"); g != "" && a.StaffID == "" {
		a.StaffID = g
	}
	g, err := s.svc.Messaging.PutTeamGrant(r.Context(), a, r.PathValue("staff_id"), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": g.StaffID, "team_key": g.TeamKeyID, "created_at": g.Created})
	return nil
}

func (s messagingAPI) getGrant(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	g, team, err := s.svc.Messaging.TeamGrant(r.Context(), a, r.PathValue("staff_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": g.StaffID, "team_fingerprint": team.Fingerprint,
		"created_at": g.Created, "armored": string(pgp.Armor(g.Message))})
	return nil
}

func (s messagingAPI) deleteGrants(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	n, err := s.svc.Messaging.RevokeStaff(r.Context(), a, r.PathValue("staff_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": n,
		"next": "rotate the team key from a remaining staff member's client (karere team rotate) so new messages exclude this member"})
	return nil
}

func (s messagingAPI) recipientKeys(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	p, t, err := s.svc.Messaging.RecipientKeys(r.Context(), a, r.PathValue("external_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"patient": toKeyJSON(p), "team": toKeyJSON(t)})
	return nil
}

type threadJSON struct {
	ID             string    `json:"id"`
	Patient        string    `json:"patient"`
	PatientName    string    `json:"patient_name"`
	Category       string    `json:"category"`
	Status         string    `json:"status"`
	AssignedTo     *string   `json:"assigned_to"`
	CreatedAt      time.Time `json:"created_at"`
	LastActivityAt time.Time `json:"last_activity_at"`
	LastSender     string    `json:"last_sender"`
	Unread         int       `json:"unread"`
	PatientUnread  int       `json:"patient_unread"`
}

func toThreadJSON(t *hub.Thread, p *hub.Patient) threadJSON {
	out := threadJSON{ID: t.ID, Category: t.Category, Status: t.Status, AssignedTo: strOrNil(t.AssignedTo),
		CreatedAt: t.Created, LastActivityAt: t.LastActivity, LastSender: t.LastSender, Unread: t.StaffUnread,
		PatientUnread: t.PatientUnread}
	if p != nil {
		out.Patient = p.ExternalID
		out.PatientName = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
	}
	return out
}

func (s messagingAPI) postThread(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in messaging.ThreadInput
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	t, err := s.svc.Messaging.CreateThread(r.Context(), a, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": t.ID, "patient": in.Patient, "category": t.Category, "status": t.Status})
	return nil
}

func (s messagingAPI) listThreads(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "unread", "patient", "status", "assigned", "limit", "before":
		default:
			return badQuery(k, "unknown query parameter (use unread, patient, status, assigned, limit, before)")
		}
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	f := hub.ThreadFilter{Status: q.Get("status"), Limit: limit, BeforeID: q.Get("before")}
	switch q.Get("unread") {
	case "", "false":
	case "true":
		f.Unread = true
	default:
		return badQuery("unread", "true or false")
	}
	switch v := q.Get("assigned"); v {
	case "":
	case "none":
		f.AssignedTo = "-"
	case "me":
		if a.StaffID == "" {
			return badQuery("assigned", "\"me\" needs a staff session")
		}
		f.AssignedTo = a.StaffID
	default:
		f.AssignedTo = v
	}
	ts, ps, err := s.svc.Messaging.ListThreads(r.Context(), a, q.Get("patient"), f)
	if err != nil {
		return err
	}
	out := make([]threadJSON, 0, len(ts))
	for i := range ts {
		out = append(out, toThreadJSON(&ts[i], ps[ts[i].PatientID]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"threads": out})
	return nil
}

func (s messagingAPI) getThread(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	t, p, err := s.svc.Messaging.GetThread(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toThreadJSON(t, p))
	return nil
}

func (s messagingAPI) patchThread(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in messaging.ThreadPatch
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	t, p, err := s.svc.Messaging.UpdateThread(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toThreadJSON(t, p))
	return nil
}

func (s messagingAPI) postMessage(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var from messaging.Sender
	if a.StaffID == "" {
		var err error
		if from, err = messaging.ParseSender(r.URL.Query().Get("sender")); err != nil {
			return err
		}
	}
	body, err := readOpenPGP(w, r, messaging.MaxMessageBody, "message")
	if err != nil {
		return err
	}
	m, err := s.svc.Messaging.PostMessage(r.Context(), a, r.PathValue("id"), from, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": m.ID, "thread": m.ThreadID, "size": m.Size, "created_at": m.Created})
	return nil
}

type messageJSON struct {
	ID                 string `json:"id"`
	Thread             string `json:"thread"`
	Sender             string `json:"sender"`
	Via                string `json:"via"`
	ArrivedUnencrypted bool   `json:"arrived_unencrypted"`
	// SenderUnverified: an email reply from an address that is neither
	// the patient's nor their guardian's (the reply address was genuine).
	SenderUnverified bool      `json:"sender_unverified"`
	Size             int       `json:"size"`
	CreatedAt        time.Time `json:"created_at"`
	Ciphertext       string    `json:"ciphertext"`
}

func (s messagingAPI) listMessages(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	_, ms, err := s.svc.Messaging.ListMessages(r.Context(), a, r.PathValue("id"), r.URL.Query().Get("after"), limit)
	if err != nil {
		return err
	}
	out := make([]messageJSON, 0, len(ms))
	for _, m := range ms {
		sender := m.SenderKind
		if m.SenderKind == messaging.SenderStaff {
			sender = "staff:" + m.SenderID
		}
		out = append(out, messageJSON{ID: m.ID, Thread: m.ThreadID, Sender: sender, Via: m.Via,
			ArrivedUnencrypted: m.ArrivedUnencrypted, SenderUnverified: m.SenderUnverified, Size: m.Size, CreatedAt: m.Created, Ciphertext: string(pgp.Armor(m.Ciphertext))})
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
	return nil
}

func (s messagingAPI) markThreadRead(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	t, err := s.svc.Messaging.MarkThreadRead(r.Context(), a, r.PathValue("id"), r.URL.Query().Get("reader"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": t.ID, "unread": t.StaffUnread, "patient_unread": t.PatientUnread})
	return nil
}
