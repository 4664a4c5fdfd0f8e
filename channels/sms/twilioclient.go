package sms

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
)

// twilioHost is the host twilio-go builds Messages API URLs for.
const twilioHost = "api.twilio.com"

// maxErrorBody bounds how much of an error answer is read; Twilio's error
// JSON is a few hundred bytes.
const maxErrorBody = 64 << 10

// apiClient is the client.BaseClient given to twilio-go for one call. It
// keeps twilio-go's own request building, authentication and error parsing
// (client.Client) and changes only where the request goes: URLs for
// api.twilio.com are moved to the configured base URL.
type apiClient struct {
	*client.Client
	base *url.URL // nil: send to Twilio as built
}

var _ client.BaseClient = (*apiClient)(nil)

// SendRequest rewrites the URL, then lets client.Client send it.
func (c *apiClient) SendRequest(method, rawURL string, data url.Values,
	headers map[string]interface{}, body ...byte) (*http.Response, error) {
	if c.base != nil {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, err
		}
		if u.Host == twilioHost {
			u.Scheme = c.base.Scheme
			u.Host = c.base.Host
			u.Path = c.base.Path + u.Path
			u.RawPath = ""
			rawURL = u.String()
		}
	}
	return c.Client.SendRequest(method, rawURL, data, headers, body...)
}

// callTransport carries one call's context and records what came back.
// twilio-go builds its requests with context.Background, so without it a
// cancelled worker would wait for the HTTP timeout; and it decodes error
// answers without closing their bodies, so the transport reads (bounded)
// and closes them first, keeping the connection reusable.
type callTransport struct {
	ctx  context.Context
	next http.RoundTripper
	// status is the HTTP status of the last answer, 0 when none arrived.
	// It classifies errors twilio-go could not decode (an HTML 503 from a
	// proxy, for instance).
	status int
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		return nil, err
	}
	t.status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// restClient returns a twilio-go client for one call with the practice's
// credentials, and the transport that observes it.
func (s *Sender) restClient(ctx context.Context, accountSID, authToken string) (*twilio.RestClient, *callTransport) {
	hc := *s.httpClient // a shallow copy: the caller's client is not changed
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	tr := &callTransport{ctx: ctx, next: next}
	hc.Transport = tr
	// As twilio-go's own default: a redirected POST must not turn into a GET.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c := &client.Client{
		Credentials: client.NewCredentials(accountSID, authToken),
		HTTPClient:  &hc,
	}
	c.SetAccountSid(accountSID)
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: &apiClient{Client: c, base: s.base}})
	// NewRestClientWithParams reads TWILIO_EDGE and TWILIO_REGION from the
	// environment; Karere takes configuration only from Config.
	rc.SetEdge("")
	rc.SetRegion("")
	return rc, tr
}
