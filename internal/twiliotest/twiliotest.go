// Package twiliotest stands in for Twilio in tests: a loopback server that
// answers like Twilio's Messages API, so the real twilio-go client runs
// against it, and Sign, which signs a webhook request the way Twilio does,
// written from Twilio's documentation independently of twilio-go and of
// Karere's checking code.
package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Sign computes X-Twilio-Signature for a POST to fullURL (scheme, host,
// path and query, as Twilio was told it) with form params: HMAC-SHA1 keyed
// with the auth token over the URL followed by every param's name and
// value, sorted by name, base64-encoded.
func Sign(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range params[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Request is one call the Server received.
type Request struct {
	Method, Path   string
	User, Password string
	BasicAuth      bool
	ContentType    string
	Form           url.Values
}

// Server answers like Twilio's Messages API: a POST to
// .../2010-04-01/Accounts/{AccountSID}/Messages.json with the account's
// credentials creates a message (201, sid SID(n) for the n-th); any other
// call gets Twilio's 404. Every call is recorded.
type Server struct {
	*httptest.Server
	AccountSID, AuthToken string

	mu      sync.Mutex
	reqs    []Request
	sent    []url.Values
	answer  func(w http.ResponseWriter, r *http.Request)
	failure *failure
}

type failure struct{ status, code int }

// NewServer starts a Server for one account; it stops when the test ends.
func NewServer(t testing.TB, accountSID, authToken string) *Server {
	t.Helper()
	s := &Server{AccountSID: accountSID, AuthToken: authToken}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SID is the message sid the Server gives the n-th message it creates
// (from 1).
func SID(n int) string { return fmt.Sprintf("SM%032x", n) }

// MessagesPath is the path of the Messages resource of an account.
func MessagesPath(accountSID string) string {
	return "/2010-04-01/Accounts/" + accountSID + "/Messages.json"
}

// Answer replaces the Server's answer to every call (nil: the default).
func (s *Server) Answer(f func(w http.ResponseWriter, r *http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

// Fail makes message creation answer status with Twilio error code (as
// Twilio does in an outage, or refusing a number); Fail(0, 0) stops it.
func (s *Server) Fail(status, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure = nil
	if status != 0 {
		s.failure = &failure{status, code}
	}
}

// Requests are the calls received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Sent are the forms of the messages created, in order.
func (s *Server) Sent() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.sent...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, User: user, Password: pass, BasicAuth: ok,
		ContentType: r.Header.Get("Content-Type"), Form: form})
	answer, fail := s.answer, s.failure
	s.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, MessagesPath(s.AccountSID)) || !ok ||
		user != s.AccountSID || pass != s.AuthToken {
		Error(http.StatusNotFound, 20404, "The requested resource was not found")(w, r)
		return
	}
	if fail != nil {
		Error(fail.status, fail.code, "failure injected by the test")(w, r)
		return
	}
	s.mu.Lock()
	s.sent = append(s.sent, form)
	n := len(s.sent)
	s.mu.Unlock()
	Created(w, s.AccountSID, SID(n), form)
}

// Created writes Twilio's 201 answer to a message creation.
func Created(w http.ResponseWriter, accountSID, sid string, form url.Values) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"account_sid":%q,"api_version":"2010-04-01","body":%q,`+
		`"date_created":"Thu, 04 Dec 2025 01:00:00 +0000","date_sent":null,"date_updated":"Thu, 04 Dec 2025 01:00:00 +0000",`+
		`"direction":"outbound-api","error_code":null,"error_message":null,"from":%q,"messaging_service_sid":%q,`+
		`"num_media":"0","num_segments":"1","price":null,"price_unit":"USD","sid":%q,`+
		`"status":"queued","to":%q,"uri":"/2010-04-01/Accounts/%s/Messages/%s.json"}`,
		accountSID, form.Get("Body"), form.Get("From"), form.Get("MessagingServiceSid"), sid, form.Get("To"), accountSID, sid)
}

// Error answers like Twilio refusing a call.
func Error(status, code int, message string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"code":%d,"message":%q,"more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`,
			code, message, code, status)
	}
}
