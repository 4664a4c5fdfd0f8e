package sms

import (
	"net/http"
	"net/url"

	"github.com/twilio/twilio-go/client"
)

// SignatureHeader carries Twilio's signature of a webhook request.
const SignatureHeader = "X-Twilio-Signature"

// validSignature reports whether signature is Twilio's signature, made with
// authToken, of fullURL (the URL exactly as Twilio called it, query
// included) and the POST form params.
//
// twilio-go's RequestValidator computes HMAC-SHA1 over the URL followed by
// each param's key and value, sorted by key, and compares the base64 result
// in constant time (crypto/subtle), with and without an explicit default
// port. Like its ValidateBody, it signs the first value of each key; the
// webhooks read only first values (Form.Get), so a repeated key cannot slip
// in an unsigned value.
func validSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, params, signature)
}

// requestURL is the URL Twilio called: publicURL plus the request's path
// and raw query as they arrived. It uses RequestURI, not URL.Path, so it is
// unchanged by http.StripPrefix; a reverse proxy in front must not rewrite
// the path or query (or publicURL must include the prefix it strips).
func requestURL(publicURL string, r *http.Request) string {
	path, query := r.URL.EscapedPath(), r.URL.RawQuery
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
		path, query = u.EscapedPath(), u.RawQuery
	}
	if query != "" {
		return publicURL + path + "?" + query
	}
	return publicURL + path
}
