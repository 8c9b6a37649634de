package report

import (
	"fmt"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// ProgressBar renders one line of progress for a terminal: a bar of width
// cells, the count and what is being done. Colour comes from st.
func ProgressBar(done, total, width int, label string, st Styles) string {
	if total < 1 {
		total = 1
	}
	done = min(max(done, 0), total)
	filled := width * done / total
	bar := st.render(st.fixed, strings.Repeat("█", filled)) + st.render(st.other, strings.Repeat("░", width-filled))
	return fmt.Sprintf("%s %d/%d %s", bar, done, total, termsafe.String(label))
}
