package inbox

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/messaging"
	"github.com/karerehub/karere/hub/pgp"
)

// listLimit is how many threads the list shows: the store's page cap.
const listLimit = 500

// Thread list filters.
var filters = []struct{ Key, Label string }{
	{"", "All open"},
	{"unread", "Unread"},
	{"mine", "Mine"},
	{"unassigned", "Unassigned"},
	{"waiting", "Waiting longest"},
	{"closed", "Closed"},
}

type filterLink struct {
	Key, Label, URL string
	Current         bool
}

type threadRow struct {
	ID           string
	PatientName  string
	PatientRef   string
	Category     string
	Status       string
	Last         stamp
	Unread       int
	AssignedName string
	Mine         bool
	// Waiting: the patient wrote last and the thread is open.
	Waiting bool
}

type threadsView struct {
	Filter   string
	Filters  []filterLink
	Rows     []threadRow
	Longest  *threadRow // the open thread waiting longest for the practice
	Truncate bool
	Empty    string
}

func patientName(p *hub.Patient) string {
	if p == nil {
		return "(unknown patient)"
	}
	if n := strings.TrimSpace(p.GivenName + " " + p.FamilyName); n != "" {
		return n
	}
	return p.ExternalID
}

// staffNames maps the practice's staff ids to names.
func (h *Handler) staffNames(ctx context.Context, rq *request) ([]hub.Staff, map[string]string, error) {
	staff, _, err := h.svc.Messaging.ListStaff(ctx, rq.actor)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, s := range staff {
		names[s.ID] = s.Name
	}
	return staff, names, nil
}

func (h *Handler) threads(w http.ResponseWriter, r *http.Request, rq *request) error {
	filter := r.URL.Query().Get("filter")
	f := hub.ThreadFilter{Status: hub.ThreadOpen, Limit: listLimit}
	switch filter {
	case "":
	case "unread":
		f.Unread = true
	case "mine":
		f.AssignedTo = rq.staff.ID
	case "unassigned":
		f.AssignedTo = "-"
	case "waiting":
	case "closed":
		f.Status = hub.ThreadClosed
	default:
		return hub.Invalid("filter", "invalid_filter", "Unknown filter.")
	}
	ts, ps, err := h.svc.Messaging.ListThreads(r.Context(), rq.actor, "", f)
	if err != nil {
		return err
	}
	_, names, err := h.staffNames(r.Context(), rq)
	if err != nil {
		return err
	}
	wn := newWhen(rq.practice, h.svc.Identity.Now())
	v := threadsView{Filter: filter, Truncate: len(ts) >= listLimit}
	for _, fl := range filters {
		u := "/inbox/threads"
		if fl.Key != "" {
			u += "?filter=" + url.QueryEscape(fl.Key)
		}
		v.Filters = append(v.Filters, filterLink{Key: fl.Key, Label: fl.Label, URL: u, Current: fl.Key == filter})
	}
	for _, t := range ts {
		row := threadRow{ID: t.ID, PatientName: patientName(ps[t.PatientID]), Category: t.Category, Status: t.Status,
			Last: wn.stamp(t.LastActivity), Unread: t.StaffUnread, AssignedName: names[t.AssignedTo],
			Mine: t.AssignedTo == rq.staff.ID, Waiting: t.Status == hub.ThreadOpen && t.LastSender == messaging.SenderPatient}
		if p := ps[t.PatientID]; p != nil {
			row.PatientRef = p.ExternalID
		}
		if t.AssignedTo != "" && row.AssignedName == "" {
			row.AssignedName = "(former staff member)"
		}
		if filter == "waiting" && !row.Waiting {
			continue
		}
		v.Rows = append(v.Rows, row)
	}
	// Waiting longest: the open thread whose patient wrote last, longest ago.
	lastAt := map[string]time.Time{}
	for _, t := range ts {
		lastAt[t.ID] = t.LastActivity
	}
	for i := range v.Rows {
		if v.Rows[i].Waiting && (v.Longest == nil || lastAt[v.Rows[i].ID].Before(lastAt[v.Longest.ID])) {
			v.Longest = &v.Rows[i]
		}
	}
	if v.Longest != nil {
		l := *v.Longest
		v.Longest = &l
	}
	// Order: the waiting view by longest wait; otherwise unread first,
	// then most recent activity (the store's order).
	if filter == "waiting" {
		slices.SortStableFunc(v.Rows, func(a, b threadRow) int { return lastAt[a.ID].Compare(lastAt[b.ID]) })
	} else {
		slices.SortStableFunc(v.Rows, func(a, b threadRow) int {
			switch {
			case a.Unread > 0 && b.Unread == 0:
				return -1
			case a.Unread == 0 && b.Unread > 0:
				return 1
			}
			return 0
		})
	}
	if len(v.Rows) == 0 {
		v.Empty = "No threads here."
	}
	h.render(w, r, rq, "threads.html", http.StatusOK, pageData{Title: "Inbox", Page: "threads", Nav: "inbox", Data: v})
	return nil
}

type messageRow struct {
	ID                 string
	Sender             string // "patient" or "staff:<id>", as the API says
	SenderName         string
	FromPatient        bool
	Via                string
	ArrivedUnencrypted bool
	SenderUnverified   bool
	At                 stamp
	Armored            string
}

type staffOption struct {
	ID, Name string
	Selected bool
}

type threadView struct {
	ID          string
	PatientName string
	PatientRef  string
	Category    string
	Status      string
	Open        bool
	AssignedTo  string
	Assigned    string
	Staff       []staffOption
	Messages    []messageRow
	LastID      string
	Created     stamp
	// KeyFingerprint is the patient's current key, grouped for reading
	// aloud when staff verify it with the patient out of band.
	KeyFingerprint string
}

func (h *Handler) thread(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	t, p, err := h.svc.Messaging.GetThread(r.Context(), rq.actor, id)
	if err != nil {
		return err
	}
	_, ms, err := h.svc.Messaging.ListMessages(r.Context(), rq.actor, t.ID, "", 500)
	if err != nil {
		return err
	}
	if t.StaffUnread > 0 {
		if _, err := h.svc.Messaging.MarkThreadRead(r.Context(), rq.actor, t.ID, messaging.SenderStaff); err != nil {
			return err
		}
	}
	staff, names, err := h.staffNames(r.Context(), rq)
	if err != nil {
		return err
	}
	wn := newWhen(rq.practice, h.svc.Identity.Now())
	v := threadView{ID: t.ID, PatientName: patientName(p), Category: t.Category, Status: t.Status,
		Open: t.Status == hub.ThreadOpen, AssignedTo: t.AssignedTo, Assigned: names[t.AssignedTo], Created: wn.stamp(t.Created)}
	if p != nil {
		v.PatientRef = p.ExternalID
		if ks, err := h.svc.Messaging.Keys(r.Context(), rq.actor, messaging.KeyOwner{Kind: hub.OwnerPatient, Ref: p.ExternalID}); err == nil && ks[0].Superseded == nil {
			v.KeyFingerprint = groupFingerprint(ks[0].Fingerprint)
		}
	}
	for _, s := range staff {
		v.Staff = append(v.Staff, staffOption{ID: s.ID, Name: s.Name, Selected: s.ID == t.AssignedTo})
	}
	for _, m := range ms {
		row := messageRow{ID: m.ID, Via: m.Via, ArrivedUnencrypted: m.ArrivedUnencrypted, SenderUnverified: m.SenderUnverified,
			At:      wn.stamp(m.Created),
			Armored: string(pgp.Armor(m.Ciphertext))}
		switch m.SenderKind {
		case messaging.SenderPatient:
			row.Sender, row.SenderName, row.FromPatient = messaging.SenderPatient, v.PatientName, true
		case messaging.SenderStaff:
			row.Sender, row.SenderName = "staff:"+m.SenderID, names[m.SenderID]
			if row.SenderName == "" {
				row.SenderName = "Practice staff"
			}
		default:
			row.Sender, row.SenderName = m.SenderKind, "Karere"
		}
		v.Messages = append(v.Messages, row)
		v.LastID = m.ID
	}
	h.render(w, r, rq, "thread.html", http.StatusOK, pageData{Title: v.PatientName + " – " + v.Category, Page: "thread",
		Nav: "inbox", Data: v})
	return nil
}

func (h *Handler) assign(w http.ResponseWriter, r *http.Request, rq *request) error {
	to := r.PostFormValue("assigned_to")
	if to == "me" {
		to = rq.staff.ID
	}
	t, _, err := h.svc.Messaging.UpdateThread(r.Context(), rq.actor, r.PathValue("id"), messaging.ThreadPatch{AssignedTo: &to})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/inbox/threads/"+url.PathEscape(t.ID), http.StatusSeeOther)
	return nil
}

func (h *Handler) setStatus(w http.ResponseWriter, r *http.Request, rq *request) error {
	st := r.PostFormValue("status")
	t, _, err := h.svc.Messaging.UpdateThread(r.Context(), rq.actor, r.PathValue("id"), messaging.ThreadPatch{Status: &st})
	if err != nil {
		return err
	}
	if st == hub.ThreadClosed {
		http.Redirect(w, r, "/inbox/threads", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/inbox/threads/"+url.PathEscape(t.ID), http.StatusSeeOther)
	return nil
}

// groupFingerprint writes a fingerprint in groups of four, as GnuPG shows
// it, so that it can be read out over the phone.
func groupFingerprint(fp string) string {
	var b strings.Builder
	for i := 0; i < len(fp); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fp[i:min(i+4, len(fp))])
	}
	return b.String()
}
