package pgp

import (
	"errors"
	"fmt"
)

// Errors about messages (Inspect, CheckRecipients). Each is returned wrapped
// with a short detail; test for them with errors.Is.
var (
	ErrNotOpenPGP         = errors.New("pgp: not an OpenPGP message")
	ErrMalformed          = errors.New("pgp: malformed OpenPGP message")
	ErrTruncated          = errors.New("pgp: truncated OpenPGP message")
	ErrTooLarge           = errors.New("pgp: message too large")
	ErrPlaintext          = errors.New("pgp: message is not encrypted")
	ErrCompressed         = errors.New("pgp: compressed data outside the encryption")
	ErrSymmetric          = errors.New("pgp: message is encrypted with a passphrase, not to keys")
	ErrNoIntegrity        = errors.New("pgp: encrypted data has no integrity protection")
	ErrTrailingData       = errors.New("pgp: data after the encrypted data packet")
	ErrAnonymousRecipient = errors.New("pgp: message has an anonymous (wildcard) recipient")
	ErrNoRecipient        = errors.New("pgp: message is not encrypted to any key")
	ErrMissingRecipient   = errors.New("pgp: message is not encrypted to a required key")
	ErrUnknownRecipient   = errors.New("pgp: message is encrypted to a key that is not allowed")
)

// Errors about keys (ParsePublicKey, CheckLockedPrivateKey, ReadPrivateKey).
var (
	ErrMalformedKey      = errors.New("pgp: malformed OpenPGP key")
	ErrKeyTooLarge       = errors.New("pgp: key too large")
	ErrMultipleKeys      = errors.New("pgp: more than one key given")
	ErrPrivateKeyGiven   = errors.New("pgp: a private key was given where a public key is expected")
	ErrNotPrivateKey     = errors.New("pgp: not a private key")
	ErrWeakKey           = errors.New("pgp: key algorithm or size is too weak")
	ErrUnsupportedKey    = errors.New("pgp: key version or algorithm is not supported")
	ErrKeyExpired        = errors.New("pgp: key has expired")
	ErrKeyNotYetValid    = errors.New("pgp: key is created in the future (check the device clock)")
	ErrKeyRevoked        = errors.New("pgp: key has been revoked")
	ErrNoEncryptionKey   = errors.New("pgp: key has no usable encryption subkey")
	ErrKeyNotLocked      = errors.New("pgp: private key is not fully passphrase-protected")
	ErrWeakKeyProtection = errors.New("pgp: private key protection is too weak")
	ErrEmptyPassphrase   = errors.New("pgp: empty passphrase")
)

// Errors of the client side (ReadPrivateKey, Encrypt, Decrypt).
var (
	ErrWrongPassphrase = errors.New("pgp: wrong passphrase")
	ErrKeyLocked       = errors.New("pgp: private key is locked")
	ErrNoDecryptionKey = errors.New("pgp: message is not encrypted to any of the given keys")
	// ErrDecrypt is the one error for every failure once decryption starts.
	ErrDecrypt = errors.New("pgp: message could not be decrypted")
)

// Errors from calling this package wrongly; Code gives them no API code.
var (
	errNoSigner        = errors.New("pgp: a signing key is required")
	errNoRecipientKeys = errors.New("pgp: no recipient keys given")
	errInvalidMaxSize  = errors.New("pgp: maxSize must be positive")
	errNilArgument     = errors.New("pgp: nil envelope or key")
)

// Roles name the keys a message must be encrypted to. CheckRecipients puts
// the role in the MissingRecipientError, and Code turns the three known roles
// into "missing_patient_recipient", "missing_team_recipient" and
// "missing_staff_recipient".
const (
	RolePatient = "patient"
	RoleTeam    = "team"
	RoleStaff   = "staff"
)

// MissingRecipientError says which required key a message is not encrypted
// to. It matches ErrMissingRecipient.
type MissingRecipientError struct {
	Role        string // the Recipient.Role that is missing
	Fingerprint string // the fingerprint of its key
}

func (e *MissingRecipientError) Error() string {
	if e.Role == "" {
		return ErrMissingRecipient.Error()
	}
	return "pgp: message is not encrypted to the " + e.Role + " key"
}

// Is makes errors.Is(err, ErrMissingRecipient) true.
func (e *MissingRecipientError) Is(target error) bool { return target == ErrMissingRecipient }

// UnknownRecipientError names a recipient key id that is neither required
// nor allowed. It matches ErrUnknownRecipient.
type UnknownRecipientError struct {
	KeyID uint64
}

func (e *UnknownRecipientError) Error() string {
	return "pgp: message is encrypted to key " + keyIDString(e.KeyID) + ", which is not allowed"
}

// Is makes errors.Is(err, ErrUnknownRecipient) true.
func (e *UnknownRecipientError) Is(target error) bool { return target == ErrUnknownRecipient }

// codes maps each sentinel to the short code the API layer shows.
// Order matters only where one error could match two entries; none does.
var codes = []struct {
	err  error
	code string
}{
	{ErrNotOpenPGP, "not_openpgp"},
	{ErrMalformed, "malformed_message"},
	{ErrTruncated, "truncated_message"},
	{ErrTooLarge, "message_too_large"},
	{ErrPlaintext, "plaintext_refused"},
	{ErrCompressed, "compressed_refused"},
	{ErrSymmetric, "symmetric_refused"},
	{ErrNoIntegrity, "integrity_protection_missing"},
	{ErrTrailingData, "trailing_data"},
	{ErrAnonymousRecipient, "anonymous_recipient"},
	{ErrNoRecipient, "no_recipient"},
	{ErrUnknownRecipient, "unknown_recipient"},
	{ErrMalformedKey, "malformed_key"},
	{ErrKeyTooLarge, "key_too_large"},
	{ErrMultipleKeys, "multiple_keys"},
	{ErrPrivateKeyGiven, "private_key_refused"},
	{ErrNotPrivateKey, "not_private_key"},
	{ErrWeakKey, "weak_key"},
	{ErrUnsupportedKey, "unsupported_key"},
	{ErrKeyExpired, "key_expired"},
	{ErrKeyNotYetValid, "key_not_yet_valid"},
	{ErrKeyRevoked, "key_revoked"},
	{ErrNoEncryptionKey, "no_encryption_subkey"},
	{ErrKeyNotLocked, "key_not_locked"},
	{ErrWeakKeyProtection, "weak_key_protection"},
	{ErrEmptyPassphrase, "empty_passphrase"},
	{ErrWrongPassphrase, "wrong_passphrase"},
	{ErrKeyLocked, "key_locked"},
	{ErrNoDecryptionKey, "no_decryption_key"},
	{ErrDecrypt, "decryption_failed"},
}

// Code returns the short API error code for an error of this package, such
// as "plaintext_refused" or "missing_team_recipient". It returns "" for nil
// and for errors that are not this package's (the caller then treats them
// as internal errors).
func Code(err error) string {
	if err == nil {
		return ""
	}
	var missing *MissingRecipientError
	if errors.As(err, &missing) {
		switch missing.Role {
		case RolePatient, RoleTeam, RoleStaff:
			return "missing_" + missing.Role + "_recipient"
		}
		return "missing_recipient"
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// wrap adds a detail to a sentinel: "pgp: truncated OpenPGP message: packet 3".
func wrap(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// keyIDString formats a key id the way GnuPG shows it.
func keyIDString(id uint64) string { return fmt.Sprintf("%016X", id) }
