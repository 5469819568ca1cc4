package passwords

import (
	"strings"
	"testing"
	"time"
)

// assertCodes checks that p refuses each password with one of codes ("" for
// accepted) in context c, and that no message quotes the password.
func assertCodes(t *testing.T, c Context, tests map[string][]string) {
	t.Helper()
	p := Policy{MinLength: DefaultMinLength}
	for password, codes := range tests {
		a := p.Assess(password, c)
		ok := false
		for _, code := range codes {
			ok = ok || a.Code == code
		}
		if !ok {
			t.Errorf("%q (%+q): code %q (score %d), want one of %q", password, password, a.Code, a.Score, codes)
		}
		if a.Message != "" && strings.Contains(a.Message, password) {
			t.Errorf("%q: the message quotes the password", password)
		}
	}
}

var (
	repetitive = []string{CodeRepetitive}
	sequential = []string{CodeSequential}
	blankCode  = []string{CodeWhitespaceOnly}
	contextual = []string{CodeContextWord, CodeMatchesAccount}
	common     = []string{CodeCommonPassword, CodeTooGuessable}
	accepted   = []string{""}
)

// Repeats and sequences are found among characters of any script and among
// emoji, which the estimator reads as random characters (a tester's cases:
// each was accepted, as "aaaaaaaaaaaa1" is not).
func TestRepeatsInAnyScript(t *testing.T) {
	assertCodes(t, Context{}, map[string][]string{
		"ééééééééééééé1":                                      strings.Fields("REPETITIVE"),
		"ддддддддддддд1":                                      repetitive,
		strings.Repeat("🙂", 12) + "1":                         repetitive,
		strings.Repeat("🙂", 6) + "1" + strings.Repeat("🙂", 6): repetitive,
		strings.Repeat("🐶🐱", 6) + "1":                         repetitive,
		strings.Repeat("🔑", 11) + "🔒":                         repetitive,
		strings.Repeat("🙂\ufe0f", 12) + "1":                   repetitive, // with variation selectors
		"ααααααααααααβ":                                       repetitive,
		"абвгдежзийкл":                                        sequential,                             // the Cyrillic alphabet
		"あいうえおかきくけこさし1":                                       append(repetitive, CodeSequential, ""), // kana are not one code point apart: not a sequence
		"ünïcödé pâss":                                        accepted,
		"мой кот любит рыбу":                                  accepted,
		"🐶🍕🚲🌧️🎸🦉🧭🍋🛶🧩🌵🎲":                                       accepted,
	})
}

// Passwords that look empty are WHITESPACE_ONLY: white space, Unicode's
// default-ignorable code points (the Hangul fillers, zero-width
// characters), format characters and the braille blank.
func TestInvisibleOnly(t *testing.T) {
	tests := map[string][]string{}
	for _, r := range []string{"\u2800", "\u3164", "\u115f", "\u1160", "\uffa0", "\u200b", "\u2060", "\ufeff", "\u034f", "\u180e"} {
		tests[strings.Repeat(r, 12)] = blankCode
		tests[strings.Repeat(r+" ", 7)] = blankCode
	}
	tests["\u2800\u3164 \u115f\u1160\uffa0\u200b\u2800\u3164 \u115f\u1160\uffa0"] = blankCode
	assertCodes(t, Context{}, tests)
}

// Context words are found however they are spelled: l33t, accents, case,
// transliterations, separators, backwards (a tester's cases).
func TestContextWordsNormalized(t *testing.T) {
	aarav := Context{Account: []string{"aarav.anderson@example.com", "aarav.anderson", "Aarav", "Anderson"},
		Domain: []string{"Demo Heating Co", "demo-heating"}}
	assertCodes(t, aarav, map[string][]string{
		"44r4v.4nd3rs0n1763":               contextual,
		"D3m0_H34t1ng_C0":                  contextual,
		"10TC0ns0l3!2024":                  contextual,
		"I0T-C0NS0L3-99":                   contextual,
		"gnitaeh omed 2024":                contextual,
		"nosrednA vaRAa 99":                contextual,
		"Aarav plays the oboe at midnight": accepted,
	})
	polish := Context{Account: []string{"Grzegorz", "Brzęczyszczykiewicz", "Grzegorz Brzęczyszczykiewicz"}}
	assertCodes(t, polish, map[string][]string{"Grzegorz Brzeczyszczykiewicz": contextual, "GRZEGORZ.BRZECZYSZCZYKIEWICZ.1": contextual})
	jose := Context{Account: []string{"José", "Müller", "José Müller"}}
	assertCodes(t, jose, map[string][]string{"Jose Muller 2024!!": contextual, "jOsÉ-mUeLlEr-88": contextual})
	jurgen := Context{Account: []string{"Jürgen", "Größe", "Jürgen Größe"}}
	assertCodes(t, jurgen, map[string][]string{"JÜRGEN-GRÖSSE-77": contextual, "Juergen Groesse 77": contextual, "Jurgen Grosse 1977": contextual})
	olga := Context{Account: []string{"Ольга", "Петрова", "Ольга Петрова"}}
	assertCodes(t, olga, map[string][]string{"Olga Petrova 1985": contextual, "ольга петрова 1985": contextual})
}

// Invisible characters and look-alike letters do not hide a common
// password (a tester's cases).
func TestHiddenCommonPasswords(t *testing.T) {
	assertCodes(t, Context{}, map[string][]string{
		"pass\u200bword1234": common,
		"p\u200ba\u200bs\u200bs\u200bw\u200bo\u200br\u200bd": {CodeTooShort, CodeCommonPassword},
		"раssword1234":                     common,         // Cyrillic р and а
		"ρassword1234":                     common,         // Greek rho
		"password\u00ad\u00ad\u00ad\u00ad": {CodeTooShort}, // soft hyphens do not count
	})
}

// A long context costs the same as a short one: every word is cut to
// maxContextRunes characters and only maxContextWords are read (a
// 175 KB first name took 20 s before).
func TestLongContextIsBounded(t *testing.T) {
	huge := strings.Repeat("abcdefghij", 17_500)
	many := make([]string, 10_000)
	for i := range many {
		many[i] = strings.Repeat(string(rune('a'+i%26)), 3+i%50)
	}
	start := time.Now()
	p := Policy{MinLength: DefaultMinLength}
	p.Assess("correct horse battery staple", Context{Account: []string{huge, huge + "x", "Ada"}, Domain: many})
	p.Assess("correct horse battery staple", Context{Account: many})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("two ratings with a long context took %v", d)
	}
	if w := contextWords(Context{Account: many, Domain: []string{huge}}); len(w.inputs) > 4*(2*maxContextWords+1)+8 {
		t.Errorf("%d context words", len(w.inputs))
	}
}

// A password typed in another Unicode normalization form is the same
// password (NIST SP 800-63B §5.1.1.2: NFKC before hashing), and a hash
// stored before normalization (of the bytes as typed then) still verifies.
func TestNormalizedHashing(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, time.Second)
	ctx := t.Context()
	const nfc, nfd = "J\u00fcrgen Gr\u00f6\u00dfe plays oboe", "Ju\u0308rgen Gro\u0308\u00dfe plays oboe"
	stored, err := h.Hash(ctx, nfd)
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{nfc, nfd} {
		if ok, err := h.Verify(ctx, stored, typed); !ok || err != nil {
			t.Errorf("%+q against the hash of the NFD form: %v %v", typed, ok, err)
		}
	}
	if ok, _ := h.Verify(ctx, stored, "Jurgen Grosse plays oboe"); ok {
		t.Error("the password without its accents verified")
	}
	legacy := encode(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, nfd) // stored as typed, before
	if ok, err := h.Verify(ctx, legacy, nfd); !ok || err != nil {
		t.Errorf("a hash of the raw NFD form, verified as typed: %v %v", ok, err)
	}
	if ok, _ := h.Verify(ctx, Encode(OWASP, "\uff50\uff41\uff53\uff53 word"), "pass word"); !ok {
		t.Error("full-width letters are not their plain letters (NFKC)")
	}
}
