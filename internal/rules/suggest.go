package rules

import "strings"

// MetaOf is the metadata of the workload or namespace rule with this ID;
// false when no rule has it.
func MetaOf(id string) (Meta, bool) {
	if r, ok := Get(id); ok {
		return r.Meta(), true
	}
	for _, r := range NamespaceRules() {
		if r.Meta().ID == id {
			return r.Meta(), true
		}
	}
	return Meta{}, false
}

// Closest is the candidate nearest to word (compared in lower case) by
// edit distance, when it is near enough to be a typo — at most a third of
// the candidate's letters, and at least 1, differ — else "". Ties go to
// the first candidate: "readines-probe" → "readiness-probe", "pbd" →
// "pdb". For "did you mean" hints on rule IDs and parameters.
func Closest(word string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), c)
		if d <= max(1, len(c)/3) && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and transpositions of
// two neighbours ("pbd" → "pdb") each count 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
