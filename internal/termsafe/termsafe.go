// Package termsafe makes strings from the cluster safe to print on a
// terminal: names, labels and messages are user data and may carry escape
// sequences.
package termsafe

import (
	"strconv"
	"strings"
	"unicode"
)

// String returns s with control characters (ESC, CR, BEL, …) replaced by
// their quoted escapes, so they are shown and never interpreted. Invalid
// UTF-8 prints as U+FFFD, which is harmless.
func String(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
