package passwords

import (
	"math"
	"slices"
	"unicode"
)

// structureGuesses estimates, for a password zxcvbn cannot read, how many
// guesses its repeats and sequences leave: github.com/trustelem/zxcvbn
// finds no repeat nor sequence among non-ASCII characters and rates
// "ééééééééééééé1" or twelve emoji and a digit as 10^14 random characters,
// while "aaaaaaaaaaaa1" is a repeat of about 10^4. It splits r (the
// password's characters, lower case, without default-ignorable code points,
// so an emoji with its variation selector or joiners is its symbols) from
// the left into the longest repeat (a block of one or more characters twice
// or more: the block's own estimate times the count, zxcvbn's
// repeat_guesses) or sequence (3 or more characters whose code points step
// by the same 1 to 5, up or down: zxcvbn's sequence_guesses, 26 a
// character, twice for a descending one) at each place, the characters
// between them one bruteforce part (10 a character, zxcvbn's
// BRUTEFORCE_CARDINALITY). The estimate is the product of the parts' times
// the number of their orders (n!, zxcvbn's factor), without zxcvbn's
// additive 10^4 a part, so that a digit between two repeats
// ("🙂🙂🙂🙂🙂🙂1🙂🙂🙂🙂🙂🙂") does not make it strong. It also returns the code
// of the longest repeat or sequence part (CodeRepetitive, CodeSequential),
// "" when there is none.
func structureGuesses(r []rune) (float64, string) {
	guesses, parts, brute := 1.0, 0, 0
	code, longest := "", 0
	flush := func() {
		if brute > 0 {
			guesses *= math.Pow(10, float64(brute))
			parts++
			brute = 0
		}
	}
	for i := 0; i < len(r); {
		rep, block, count := repeatAt(r, i)
		seq, step := sequenceAt(r, i)
		switch {
		case rep >= 2 && rep >= seq:
			flush()
			base, _ := structureGuesses(r[i : i+block])
			guesses *= max(base*float64(count), 50) // zxcvbn's MIN_SUBMATCH_GUESSES_MULTI_CHAR
			parts++
			if rep > longest {
				code, longest = CodeRepetitive, rep
			}
			i += rep
		case seq >= 3:
			flush()
			g := 26.0 * float64(seq)
			if step < 0 {
				g *= 2
			}
			guesses *= max(g, 50)
			parts++
			if seq > longest {
				code, longest = CodeSequential, seq
			}
			i += seq
		default:
			brute++
			i++
		}
	}
	flush()
	for k := 2; k <= parts; k++ {
		guesses *= float64(k)
	}
	return guesses, code
}

// repeatAt returns the longest repeat starting at r[i]: its length in
// characters, its block's length and the block's count (0, 0, 0 if none).
func repeatAt(r []rune, i int) (length, block, count int) {
	for size := 1; i+2*size <= len(r); size++ {
		n := 1
		for i+(n+1)*size <= len(r) && slices.Equal(r[i+n*size:i+(n+1)*size], r[i:i+size]) {
			n++
		}
		if n >= 2 && n*size > length {
			length, block, count = n*size, size, n
		}
	}
	return length, block, count
}

// sequenceAt returns the length of the sequence starting at r[i] and its
// step (0, 0 if none).
func sequenceAt(r []rune, i int) (int, rune) {
	if i+1 >= len(r) {
		return 0, 0
	}
	step := r[i+1] - r[i]
	if step == 0 || step > 5 || step < -5 {
		return 0, 0
	}
	j := i + 1
	for j < len(r) && r[j]-r[j-1] == step {
		j++
	}
	return j - i, step
}

// lowerRunes returns s's characters in lower case.
func lowerRunes(s string) []rune {
	r := []rune(s)
	for i := range r {
		r[i] = unicode.ToLower(r[i])
	}
	return r
}
