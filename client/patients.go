package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Guardian receives messages for a patient (a child, for example).
type Guardian struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// PatientInput is the body of PUT /v1/patients/{external_id}.
type PatientInput struct {
	GivenName   string    `json:"given_name"`
	FamilyName  string    `json:"family_name"`
	Phone       string    `json:"phone,omitempty"`
	Email       string    `json:"email,omitempty"`
	Channels    []string  `json:"channels,omitempty"` // preferred order: "portal", "sms", "email"
	Locale      string    `json:"locale,omitempty"`
	DateOfBirth string    `json:"date_of_birth,omitempty"`
	Guardian    *Guardian `json:"guardian"`
}

// Patient is a patient as the API shows it.
type Patient struct {
	ExternalID      string     `json:"external_id"`
	GivenName       string     `json:"given_name"`
	FamilyName      string     `json:"family_name"`
	Phone           string     `json:"phone"`
	Email           string     `json:"email"`
	Channels        []string   `json:"channels"`
	Locale          string     `json:"locale"`
	DateOfBirth     string     `json:"date_of_birth"`
	Guardian        *Guardian  `json:"guardian"`
	SMSOptedOutAt   *time.Time `json:"sms_opted_out_at"`
	EmailOptedOutAt *time.Time `json:"email_opted_out_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// PutPatient creates or replaces a patient; created reports which.
func (c *Client) PutPatient(ctx context.Context, externalID string, in PatientInput) (p *Patient, created bool, err error) {
	p = &Patient{}
	var status int
	err = c.do(ctx, request{method: http.MethodPut, path: "/v1/patients/" + seg(externalID), json: in, status: &status}, p)
	if err != nil {
		return nil, false, err
	}
	return p, status == http.StatusCreated, nil
}

// GetPatient reads a patient.
func (c *Client) GetPatient(ctx context.Context, externalID string) (*Patient, error) {
	p := &Patient{}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/patients/" + seg(externalID)}, p); err != nil {
		return nil, err
	}
	return p, nil
}

// DeletePatient removes a patient's contact details.
func (c *Client) DeletePatient(ctx context.Context, externalID string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/patients/" + seg(externalID)}, nil)
}

// InboxItem is one item of a patient's portal inbox.
type InboxItem struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Text      string     `json:"text"`
	Thread    string     `json:"thread,omitempty"`
	Delivery  string     `json:"delivery"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

// Inbox lists what the portal channel delivered to a patient, newest
// first. limit 0 means the server's default.
func (c *Client) Inbox(ctx context.Context, externalID string, limit int) ([]InboxItem, error) {
	var out struct {
		Items []InboxItem `json:"items"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/patients/" + seg(externalID) + "/inbox", query: limitQuery(limit)}, &out)
	return out.Items, err
}

// NoticeInput is the body of POST /v1/notices.
type NoticeInput struct {
	Patient  string   `json:"patient"`
	Text     string   `json:"text"`
	Channels []string `json:"channels,omitempty"`
}

// Delivery is one planned or made channel send.
type Delivery struct {
	ID         string    `json:"id"`
	Patient    string    `json:"patient"`
	Notice     string    `json:"notice"`
	Channel    string    `json:"channel"`
	Kind       string    `json:"kind"`
	Mode       string    `json:"mode"`
	State      string    `json:"state"`
	Attempts   int       `json:"attempts"`
	ProviderID *string   `json:"provider_id"`
	LastError  *string   `json:"last_error"`
	Fallbacks  []string  `json:"fallbacks"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// NoticeResult is the answer to SendNotice.
type NoticeResult struct {
	NoticeID   string     `json:"notice_id"`
	Deliveries []Delivery `json:"deliveries"`
}

// SendNotice posts a notice to a patient.
func (c *Client) SendNotice(ctx context.Context, in NoticeInput) (*NoticeResult, error) {
	out := &NoticeResult{}
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/notices", json: in}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetDelivery reads one delivery.
func (c *Client) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	d := &Delivery{}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deliveries/" + seg(id)}, d); err != nil {
		return nil, err
	}
	return d, nil
}

// DeliveryFilter narrows ListDeliveries; every field is optional.
type DeliveryFilter struct {
	Patient string // external id
	State   string
	Limit   int
	Before  string // delivery id, for paging
}

// ListDeliveries lists deliveries, newest first.
func (c *Client) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	q := limitQuery(f.Limit)
	set(q, "patient", f.Patient)
	set(q, "state", f.State)
	set(q, "before", f.Before)
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deliveries", query: q}, &out)
	return out.Deliveries, err
}

func limitQuery(limit int) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
