package passwords

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sethvargo/go-diceware/diceware"
)

// PassphraseWords is how many words a generated passphrase has at least:
// four words of EFF's large list (7,776 words, 12.9 bits each) drawn
// without repeats are about 51.7 bits, far beyond what an online guesser
// gets through the service's back-off, and easy to read out on a call.
const PassphraseWords = 4

// passphraseAttempts bounds how often Passphrase draws again when the policy
// refuses a draw (a context word and too little else): with EFF's words it
// never needs a second draw in practice (TestPassphrase draws thousands).
const passphraseAttempts = 20

// errNoPassphrase says the policy refused every draw.
var errNoPassphrase = errors.New("no generated passphrase met the password policy")

// Passphrase returns words of EFF's large diceware list (github.com/sethvargo/go-diceware,
// crypto/rand), lower case and joined by '-', that p accepts for an account
// of context c (see Assess): at least PassphraseWords words,
// and more while it is shorter than p's minimum length. Each word adds
// log2(7776) ≈ 12.9 bits; a draw the policy refuses is drawn again. It
// returns an error when the system's random source fails, or when the policy
// refused every draw.
func (p Policy) Passphrase(c Context) (string, error) {
	for range passphraseAttempts {
		words, err := diceware.Generate(PassphraseWords)
		if err != nil {
			return "", fmt.Errorf("passphrase: %w", err)
		}
		for utf8.RuneCountInString(strings.Join(words, "-")) < p.MinLength {
			more, err := diceware.Generate(1)
			if err != nil {
				return "", fmt.Errorf("passphrase: %w", err)
			}
			words = append(words, more...)
		}
		phrase := strings.Join(words, "-")
		if p.Assess(phrase, c).Acceptable() {
			return phrase, nil
		}
	}
	return "", errNoPassphrase
}
