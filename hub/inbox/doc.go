// Package inbox is the staff web inbox: server-rendered pages
// (html/template) and a little JavaScript, all embedded, served by hubd
// under /inbox/ beside the JSON API.
//
// # Sessions
//
// Staff sign in with email and password (argon2id, identity.CheckPassword) and,
// when enrolled, a TOTP code (RFC 6238). The session lives in the database
// (identity.Service.SignIn): the karere_session cookie holds a random 256-bit
// token and the database only its SHA-256. Sessions end after 30 idle
// minutes, after 12 hours in any case, and at sign-out, which deletes them
// server-side. Every form carries the session's CSRF token, checked in
// constant time; the page's script sends it as X-CSRF-Token to the JSON
// API, which then accepts the cookie in place of an API key
// (identity.Service.AuthenticateSession). The sign-in form itself is protected
// by a double-submit token in a short-lived cookie. Repeated failures lock
// the account (known or not) and, at a higher count, the address.
//
// # Encryption stays in the browser
//
// The server renders metadata and ciphertext. The script (web/src, bundled
// by esbuild into static/ and committed) loads OpenPGP.js only when the
// staff member unlocks their key: it fetches the locked private key and
// the team key grant from the API, unlocks the key with the passphrase in
// the page, decrypts the grant to get the team key, decrypts and verifies
// messages, and encrypts and signs replies to the patient and team keys.
// Passphrase, keys and plaintext never leave the tab. Links and forms are
// followed by fetching the next page and swapping its main element, so the
// unlocked key stays in memory while the staff member moves around; a full
// reload forgets it.
//
// # Live updates
//
// GET /inbox/events is a Server-Sent Events stream of the practice's hub
// events (ids only, never content) with a comment every 25 seconds; the
// page refreshes the list or thread on each, and polls every 60 seconds in
// case the stream is down or another hubd process took the write. Requests
// the page makes by itself do not slide the session's idle expiry.
//
// # Headers
//
// Every response carries a strict Content-Security-Policy (no inline
// script or style anywhere), X-Content-Type-Options, X-Frame-Options,
// Referrer-Policy, and Cache-Control: no-store except for static assets.
package inbox
