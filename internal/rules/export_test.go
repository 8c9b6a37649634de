package rules

// SetExhaustive makes Evaluate's --fix=all pass evaluate every rule (the
// reference FixableAfter is checked against) and returns what undoes it.
func SetExhaustive() (undo func()) {
	exhaustive = true
	return func() { exhaustive = false }
}
