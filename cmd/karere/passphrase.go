package main

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// The passphrase keygen accepts. It locks a private key that `karere key
// publish` stores on the hub, so a copy of the hub's database can be
// attacked offline, at the pace of the key's S2K (hub/pgp.S2KCount: a
// 16 MiB SHA-256 run per guess, some hundreds of guesses a second on one
// GPU). 10^10 guesses is months of one GPU; zxcvbn (Dropbox's estimator,
// trustelem/zxcvbn) counts them the way crackers guess: common passwords,
// words, names, dates, keyboard runs, l33t, repeats, and the name and
// email given to keygen.
const (
	minPassphraseChars   = 12
	minPassphraseGuesses = 1e10
	// strengthPrefix: zxcvbn's time grows with length; what it cannot
	// match in the first characters only adds guesses.
	strengthPrefix = 100
)

const weakAdvice = "use four or more random words (for example from a dice word list) or a password manager's passphrase"

// checkPassphrase refuses a passphrase that is short or easy to guess.
// userInputs (the key's name and email) count as known to an attacker.
func checkPassphrase(pass []byte, userInputs ...string) error {
	if !utf8.Valid(pass) {
		return errors.New("the passphrase is not valid UTF-8 text")
	}
	if n := utf8.RuneCount(pass); n < minPassphraseChars {
		return fmt.Errorf("the passphrase is too short (%d characters): use at least %d; %s", n, minPassphraseChars, weakAdvice)
	}
	s := string(pass)
	if utf8.RuneCountInString(s) > strengthPrefix {
		s = string([]rune(s)[:strengthPrefix])
	}
	if g := zxcvbn.PasswordStrength(s, userInputs).Guesses; g < minPassphraseGuesses {
		return fmt.Errorf("the passphrase is too easy to guess (about 10^%.0f guesses; at least 10^%.0f needed, because "+
			"the locked key is stored on the hub and can be attacked offline): %s",
			math.Floor(math.Log10(math.Max(g, 1))), math.Log10(minPassphraseGuesses), weakAdvice)
	}
	return nil
}
