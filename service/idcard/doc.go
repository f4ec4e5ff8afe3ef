// Package idcard holds the local rules for Chinese resident identity cards:
// the ID number of GB 11643-1999 (format, ISO 7064 MOD 11-2 check digit,
// GB/T 2260 region, birth date, sex) and the validity period printed on the
// back of the card.
//
// Everything here is a pure function of its arguments and the embedded
// region table: no clock, no network, no store. Callers pass "today"
// explicitly so that tests and the flow agree on what day it is, and so that
// a rule can never flip because a test ran around midnight.
//
// These rules run before any paid verification call: a number that fails
// them never reaches a vendor. They are deliberately lenient where real
// cards are irregular (see the region rule on Parse) because the vendor's
// answer, not this package, is the authority on whether a person exists.
package idcard
