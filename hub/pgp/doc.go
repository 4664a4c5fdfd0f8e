// Package pgp is Karere's OpenPGP layer, built on ProtonMail's go-crypto. It
// imports no other Karere package: the server (hubd) and the Go client both
// use it.
//
// # What the server does, and does not do
//
// The server routes and stores ciphertext; it never decrypts and never holds
// a passphrase or an unlocked private key. Its use of this package is:
//
//   - ParsePublicKey checks a key that a patient or staff member registers.
//   - CheckLockedPrivateKey checks a private key kept for a user's other
//     devices: every secret part must be locked with a passphrase.
//   - Inspect reads a submitted message's packet headers, without
//     decrypting, and refuses anything but "encrypted to public keys":
//     plaintext, compressed data outside the encryption (a compression bomb),
//     passphrase-only (SKESK) and unprotected (SED) encryption, anonymous
//     recipients, trailing data, truncated packets and oversize input.
//   - CheckRecipients then requires the patient's key and the practice team
//     key among the recipients, and refuses recipients that are neither
//     required nor allowed.
//   - Seal encrypts a plaintext reply that arrived by SMS or ordinary email
//     to the thread's keys, so the plaintext can be dropped at once.
//   - Armor turns stored binary ciphertext back into ASCII armor.
//
// # What clients do
//
// GenerateKey, ReadPrivateKey, Encrypt and Decrypt run on patients' and staff
// members' devices and in tests. Senders sign inside the encryption; readers
// verify. Decrypt reports every failure after the session key is used as
// one generic error, ErrDecrypt, so that it cannot serve as an oracle.
//
// # Keys and algorithms
//
// Generated keys are v4 with an EdDSA/Ed25519 primary key and an
// ECDH/Curve25519 encryption subkey: the "legacy" algorithm ids that GnuPG
// 2.2, OpenPGP.js and go-crypto all read (GnuPG 2.2 cannot read the RFC 9580
// Ed25519/X25519 ids). Every caller passes Config, since go-crypto's default
// without one is RSA-2048. ParsePublicKey also accepts RSA of at least 3072
// bits and, on v4 keys, the RFC 9580 Ed25519/X25519 ids (go-crypto and
// OpenPGP.js read them; such a key cannot be used from GnuPG 2.2). Messages
// are written as SEIPDv1 (MDC), which every reader handles; Inspect also
// accepts SEIPDv2 and the AEAD packet (tag 20) that newer GnuPG writes.
//
// # Errors
//
// Every refusal is an exported sentinel with a "pgp:" prefix, returned
// wrapped with a detail; test with errors.Is. Code maps each to a short code
// for the API ("plaintext_refused", "missing_team_recipient", ...). Details
// never contain plaintext.
//
// Standards: RFC 9580 (OpenPGP), RFC 4880 and RFC 6637 (the v4 formats and
// ECDH that GnuPG 2.2 uses), draft-koch-eddsa-for-openpgp (legacy EdDSA).
package pgp
