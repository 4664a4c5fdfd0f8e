package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Thread is a secure conversation between a patient and the practice.
type Thread struct {
	ID             string    `json:"id"`
	Patient        string    `json:"patient"` // external id
	PatientName    string    `json:"patient_name"`
	Category       string    `json:"category"`
	Status         string    `json:"status"` // "open" or "closed"
	AssignedTo     *string   `json:"assigned_to"`
	CreatedAt      time.Time `json:"created_at"`
	LastActivityAt time.Time `json:"last_activity_at"`
	LastSender     string    `json:"last_sender"`
	Unread         int       `json:"unread"`         // patient messages staff have not read
	PatientUnread  int       `json:"patient_unread"` // practice messages the patient has not read
}

// CreateThread opens a thread with a patient (category "" means
// "general"). The patient and the practice must both have keys.
func (c *Client) CreateThread(ctx context.Context, patientExternalID, category string) (*Thread, error) {
	in := map[string]string{"patient": patientExternalID}
	if category != "" {
		in["category"] = category
	}
	return call[Thread](ctx, c, request{method: http.MethodPost, path: "/v1/threads", json: in})
}

// ThreadFilter narrows ListThreads; every field is optional.
type ThreadFilter struct {
	Unread   bool   // only threads with messages from the patient not read by staff
	Patient  string // external id
	Status   string // "open" or "closed"
	Assigned string // staff id, or "none"
	Limit    int
	Before   string // thread id, for paging
}

// ListThreads lists threads, most recent activity first.
func (c *Client) ListThreads(ctx context.Context, f ThreadFilter) ([]Thread, error) {
	q := limitQuery(f.Limit)
	if f.Unread {
		q.Set("unread", "true")
	}
	set(q, "patient", f.Patient)
	set(q, "status", f.Status)
	set(q, "assigned", f.Assigned)
	set(q, "before", f.Before)
	var out struct {
		Threads []Thread `json:"threads"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/threads", query: q}, &out)
	return out.Threads, err
}

// GetThread reads a thread.
func (c *Client) GetThread(ctx context.Context, id string) (*Thread, error) {
	return call[Thread](ctx, c, request{method: http.MethodGet, path: "/v1/threads/" + seg(id)})
}

// ThreadPatch changes a thread; nil fields stay as they are. AssignedTo ""
// unassigns.
type ThreadPatch struct {
	Status     *string `json:"status,omitempty"`
	AssignedTo *string `json:"assigned_to,omitempty"`
	Category   *string `json:"category,omitempty"`
}

// PatchThread changes a thread's status, assignment or category.
func (c *Client) PatchThread(ctx context.Context, id string, p ThreadPatch) (*Thread, error) {
	return call[Thread](ctx, c, request{method: http.MethodPatch, path: "/v1/threads/" + seg(id), json: p})
}

// Readers for MarkRead.
const (
	ReaderPatient = "patient"
	ReaderStaff   = "staff"
)

// ReadMarks are a thread's unread counts after MarkRead.
type ReadMarks struct {
	ID            string `json:"id"`
	Unread        int    `json:"unread"`
	PatientUnread int    `json:"patient_unread"`
}

// MarkRead resets one side's unread count: ReaderPatient (the portal
// showed the thread to the patient) or ReaderStaff.
func (c *Client) MarkRead(ctx context.Context, threadID, reader string) (*ReadMarks, error) {
	q := url.Values{}
	set(q, "reader", reader)
	return call[ReadMarks](ctx, c, request{method: http.MethodPost, path: "/v1/threads/" + seg(threadID) + "/read", query: q})
}

// Sender says who posts a message: AsPatient or AsStaff(id).
type Sender string

// AsPatient is the thread's patient as a sender.
const AsPatient Sender = "patient"

// AsStaff is a staff member as a sender.
func AsStaff(id string) Sender { return Sender("staff:" + id) }

// StaffID returns the staff id of a staff sender, or "".
func (s Sender) StaffID() string {
	id, _ := strings.CutPrefix(string(s), "staff:")
	if id == string(s) {
		return ""
	}
	return id
}

// ParseSender reads "patient" or "staff:<id>".
func ParseSender(s string) (Sender, bool) {
	if s == string(AsPatient) || (strings.HasPrefix(s, "staff:") && len(s) > len("staff:")) {
		return Sender(s), true
	}
	return "", false
}

// Posted is the answer to PostMessage.
type Posted struct {
	ID        string    `json:"id"`
	Thread    string    `json:"thread"`
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// PostMessage posts an OpenPGP message that is already encrypted (armored
// or binary) to a thread. Most callers want SendSecure.
func (c *Client) PostMessage(ctx context.Context, threadID string, from Sender, ciphertext []byte) (*Posted, error) {
	ct := "application/octet-stream"
	if len(ciphertext) > 0 && ciphertext[0]&0x80 == 0 {
		ct = "text/plain"
	}
	q := url.Values{}
	q.Set("sender", string(from))
	return call[Posted](ctx, c, request{method: http.MethodPost, path: "/v1/threads/" + seg(threadID) + "/messages",
		query: q, body: ciphertext, contentType: ct})
}

// Message is a stored message: metadata and ciphertext.
type Message struct {
	ID                 string `json:"id"`
	Thread             string `json:"thread"`
	Sender             string `json:"sender"` // "patient" or "staff:<id>"
	Via                string `json:"via"`    // "portal", "sms", "email"
	ArrivedUnencrypted bool   `json:"arrived_unencrypted"`
	// SenderUnverified: an email reply from an address that is neither
	// the patient's nor their guardian's.
	SenderUnverified bool      `json:"sender_unverified"`
	Size             int       `json:"size"`
	CreatedAt        time.Time `json:"created_at"`
	Ciphertext       string    `json:"ciphertext"` // armored
}

// ListMessages lists a thread's messages oldest first, after the message
// id after ("" from the start), at most limit (0: the server's default).
func (c *Client) ListMessages(ctx context.Context, threadID, after string, limit int) ([]Message, error) {
	q := limitQuery(limit)
	set(q, "after", after)
	var out struct {
		Messages []Message `json:"messages"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/threads/" + seg(threadID) + "/messages", query: q}, &out)
	return out.Messages, err
}

// messagePage is how many messages AllMessages asks for at a time.
const messagePage = 100

// AllMessages lists every message of a thread, oldest first.
func (c *Client) AllMessages(ctx context.Context, threadID string) ([]Message, error) {
	var all []Message
	after := ""
	for {
		ms, err := c.ListMessages(ctx, threadID, after, messagePage)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
		if len(ms) < messagePage {
			return all, nil
		}
		after = ms[len(ms)-1].ID
	}
}
