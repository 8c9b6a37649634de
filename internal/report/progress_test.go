package report

import "testing"

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int
		want        string
	}{
		{0, 4, "░░░░░░░░ 0/4 web"},
		{1, 4, "██░░░░░░ 1/4 web"},
		{4, 4, "████████ 4/4 web"},
		{9, 4, "████████ 4/4 web"},
		{0, 0, "░░░░░░░░ 0/1 web"},
	} {
		if got := ProgressBar(tc.done, tc.total, 8, "web", Styles{}); got != tc.want {
			t.Errorf("ProgressBar(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
	if got := ProgressBar(1, 2, 2, "a\x1b[2Jb", Styles{}); got != `█░ 1/2 a\x1b[2Jb` {
		t.Errorf("a cluster string's escape reaches the terminal: %q", got)
	}
}
