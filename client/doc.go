// Package client is the Go client of Karere's JSON API (v1), for portal
// backends, practice systems and the karere CLI.
//
// # Transport
//
// New builds a Client around an *http.Client with an explicit timeout
// (DefaultTimeout; WithHTTPClient to supply your own), never
// http.DefaultClient. Every call takes a context. Answers other than 2xx
// come back as *Error, decoded from the API's error shape
// {"error":{"code","message","field"}}.
//
// Every mutating call (PUT, POST, PATCH, DELETE) carries an Idempotency-Key:
// a random one per call unless the context names one (WithIdempotencyKey),
// so the client's own retries (WithRetries: transport errors, 429 and 5xx)
// and the caller's retries with the same key create nothing twice.
//
// # End-to-end encryption
//
// The server stores only ciphertext. The methods in secure.go and team.go
// run on the user's device with hub/pgp:
//
//   - SendSecure fetches the thread's recipient keys (patient and practice
//     team key) from the directory, checks them against fingerprints the
//     caller pins (PinPatient, PinTeam), signs with the sender's key and
//     encrypts (signature inside), and posts the armored message.
//   - ReadThread decrypts a thread's messages with the reader's keys and
//     verifies each signature against the directory's patient and staff keys
//     (or a Signers set the caller built from pinned keys), reporting who
//     signed and whether that is the sender the server claims.
//
// # The team key and its grants
//
// Every message is encrypted to the patient and to the practice team key.
// The team key is an ordinary Karere key (pgp.GenerateKey) made by a staff
// member's client; the server holds only its public part. Its private part
// exists on the server only inside grants: one OpenPGP message per staff
// member, encrypted to that member's current key alone (the server checks
// this) and signed by the granting member. The grant's plaintext is the
// team's private keys, armored and unlocked, one block after another, the
// current key first and then up to MaxTeamKeyHistory earlier team keys, so
// that a member added after a rotation can still read older messages.
//
// The team keys inside a grant carry no passphrase of their own: the grant
// is already encrypted to the member's passphrase-locked key, and a shared
// team passphrase would have to be handed to every member, which would make
// removing one member impossible. pgp.GenerateKey always locks the key it
// makes, so TeamInit and TeamRotate lock it with a one-time random
// passphrase, unlock it at once and forget the passphrase; it is never
// stored or sent.
//
// TeamInit makes the first team key and the first member's grant;
// TeamGrant re-encrypts the team keys from the granter's own grant to a new
// member's current key; TeamRotate makes a new team key, deletes the grants
// of the members it excludes, and grants the new key (with the history) to
// every remaining member with a key. A removed member keeps what they could
// read before, and cannot read messages sent after the rotation.
// UnlockTeamKey opens a grant.
package client
