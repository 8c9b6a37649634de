package rules

import "strings"

// CompanionName is the name of an object a fix creates for a workload:
// the workload's name, with suffix (the rule's Meta.CompanionSuffix)
// appended while taken reports the name in use, e.g. web, then web-pdb,
// web-pdb-pdb.
func CompanionName(workload, suffix string, taken func(name string) bool) string {
	name := workload
	for taken(name) {
		name += suffix
	}
	return name
}

// NameStem is a workload name without the companion suffixes of every
// registered rule, stripped from its end as long as one is there:
// "web-pdb" and "web-harden-pdb" have the stem "web". Two workloads of a
// namespace whose stems differ never get companions of the same name
// (CompanionName only appends suffixes), so audit --fix may fix them at
// once; two with the same stem may (a StatefulSet web whose budget must
// be web-pdb beside a Deployment web-pdb) and must be fixed in turn.
func NameStem(name string) string {
	var suffixes []string
	for _, r := range All() {
		if s := r.Meta().CompanionSuffix; s != "" {
			suffixes = append(suffixes, s)
		}
	}
	for {
		stripped := name
		for _, s := range suffixes {
			if t, ok := strings.CutSuffix(stripped, s); ok && t != "" {
				stripped = t
			}
		}
		if stripped == name {
			return name
		}
		name = stripped
	}
}
