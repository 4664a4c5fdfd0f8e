package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultTimeout bounds one HTTP exchange. A 10 MiB message over a slow
	// link fits; a hung server does not hold a caller for ever.
	DefaultTimeout = 60 * time.Second
	// DefaultRetries is how many times a call is retried after a transport
	// error, 429 or 5xx. Retries are safe: mutating calls carry an
	// Idempotency-Key.
	DefaultRetries = 2
	// maxErrorBody bounds how much of an error answer is read.
	maxErrorBody = 64 << 10
	// maxAnswer bounds a successful JSON answer (a page of 500 messages of
	// a few KiB each fits; a page of 10 MiB messages is asked for in small
	// pages, see ListMessages).
	maxAnswer = 256 << 20
)

// Client calls one Karere hub with one practice API key. It is safe for
// concurrent use.
type Client struct {
	base    *url.URL
	key     string
	hc      *http.Client
	retries int
	backoff time.Duration
	agent   string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient uses hc for every request. Give it a Timeout (or use
// contexts with deadlines): the client adds none of its own.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout sets the timeout of the client's own *http.Client.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.hc.Timeout = d } }

// WithRetries sets how many times a failed call is retried (0: never), and
// the first pause between attempts (doubled each time).
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *Client) { c.retries, c.backoff = max(n, 0), backoff }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.agent = ua } }

// New returns a client for the hub at baseURL (such as
// "https://karere.example.nz") using a practice API key.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http(s)://host[:port]", baseURL)
	}
	if apiKey == "" {
		return nil, errors.New("client: an API key is required")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c := &Client{base: u, key: apiKey, hc: &http.Client{Timeout: DefaultTimeout, Transport: tr},
		retries: DefaultRetries, backoff: 200 * time.Millisecond, agent: "karere-go-client/1"}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		return nil, errors.New("client: nil *http.Client")
	}
	return c, nil
}

// Error is an answer of the API other than 2xx.
type Error struct {
	Status  int    // HTTP status
	Code    string // such as "missing_team_recipient"; "unexpected_response" when the body was not the error shape
	Message string
	Field   string
	// RetryAfter is the server's Retry-After, if any.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("karere: %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// Temporary reports whether the same call may succeed later (429, 5xx).
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

type idemKey struct{}

// WithIdempotencyKey makes the mutating call made with ctx send key as its
// Idempotency-Key instead of a fresh random one, so that a caller that
// stored the key can retry the call later (even from another process)
// without doing it twice.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idemKey{}, key)
}

// request describes one API call.
type request struct {
	method, path string
	query        url.Values
	contentType  string
	body         []byte
	// json is marshalled into body when not nil.
	json any
	// status, when not nil, receives the answer's status code.
	status *int
}

// do performs r, retrying when safe, and decodes a 2xx JSON answer into
// out (which may be nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	if r.json != nil {
		b, err := json.Marshal(r.json)
		if err != nil {
			return fmt.Errorf("client: encoding request: %w", err)
		}
		r.body, r.contentType = b, "application/json"
	}
	u := c.base.JoinPath(r.path)
	u.RawQuery = r.query.Encode()
	var idem string
	if r.method != http.MethodGet && r.method != http.MethodHead {
		idem, _ = ctx.Value(idemKey{}).(string)
		if idem == "" {
			idem = randomKey()
		}
	}
	pause := c.backoff
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, r, u.String(), idem, out)
		if err == nil || attempt >= c.retries || !retriable(err) {
			return err
		}
		wait := pause
		var e *Error
		if errors.As(err, &e) && e.RetryAfter > wait {
			wait = e.RetryAfter
		}
		pause *= 2
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func retriable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	var de *decodeError
	if errors.As(err, &de) {
		return false
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

type decodeError struct{ err error }

func (e *decodeError) Error() string { return "client: decoding answer: " + e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

func (c *Client) once(ctx context.Context, r request, u, idem string, out any) error {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	if r.status != nil {
		*r.status = resp.StatusCode
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer))
	if err := dec.Decode(out); err != nil {
		return &decodeError{fmt.Errorf("%s %s: %w", r.method, r.path, err)}
	}
	return nil
}

func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{Status: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var shape struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &shape) == nil && shape.Error.Code != "" {
		e.Code, e.Message, e.Field = shape.Error.Code, shape.Error.Message, shape.Error.Field
		return e
	}
	e.Code = "unexpected_response"
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	e.Message = msg
	return e
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// call performs r and decodes its answer into a new T.
func call[T any](ctx context.Context, c *Client, r request) (*T, error) {
	out := new(T)
	if err := c.do(ctx, r, out); err != nil {
		return nil, err
	}
	return out, nil
}
