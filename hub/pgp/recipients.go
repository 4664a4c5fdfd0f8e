package pgp

import "fmt"

// Recipient is a key a message must be encrypted to, and the role it plays
// (RolePatient, RoleTeam, RoleStaff, or another short word), which names the
// key in a MissingRecipientError.
type Recipient struct {
	Role string
	Key  *PublicKey
}

// CheckRecipients enforces who a message is encrypted to, from the key ids
// in its session-key packets:
//
//   - each required key must be a recipient (through any of its
//     EncryptionKeyIDs), or the error is a *MissingRecipientError naming the
//     first missing role (errors.Is(err, ErrMissingRecipient));
//   - every recipient must belong to a required or an allowed key, or the
//     error is an *UnknownRecipientError (errors.Is(err, ErrUnknownRecipient)).
//
// allowed are keys that may receive the message but need not: older keys of
// the same people, the sending staff member's own key, and the like.
func CheckRecipients(env *Envelope, required []Recipient, allowed ...*PublicKey) error {
	if env == nil {
		return errNilArgument
	}
	for _, r := range required {
		if r.Key == nil {
			return fmt.Errorf("%w: no key for role %q", errNilArgument, r.Role)
		}
		if !encryptedTo(env, r.Key) {
			return &MissingRecipientError{Role: r.Role, Fingerprint: r.Key.Fingerprint}
		}
	}
next:
	for _, id := range env.Recipients {
		for _, r := range required {
			if r.Key.HasEncryptionKey(id) {
				continue next
			}
		}
		for _, k := range allowed {
			if k != nil && k.HasEncryptionKey(id) {
				continue next
			}
		}
		return &UnknownRecipientError{KeyID: id}
	}
	return nil
}

// encryptedTo reports whether env names any encryption key of k.
func encryptedTo(env *Envelope, k *PublicKey) bool {
	for _, id := range k.EncryptionKeyIDs {
		if env.Has(id) {
			return true
		}
	}
	return false
}
