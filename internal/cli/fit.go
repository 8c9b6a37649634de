package cli

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// listWidth is the width, in columns, a list cell of a table gets on a
// stream that is no terminal (a pipe, a CI log): about what is left of
// an 80-column line beside a time and an action.
const listWidth = 60

// fitList joins items with "," within width columns, the way kubectl get
// prints a long list (endpoints: "a,b,c + 2 more..."): as many items as
// fit, then " + N more..."; at least one item is shown, however long.
// width <= 0 means no limit.
func fitList(items []string, width int) string {
	all := strings.Join(items, ",")
	if width <= 0 || len(all) <= width {
		return all
	}
	shown := items[0]
	n := 1
	for ; n < len(items); n++ {
		next := shown + "," + items[n]
		if len(next)+len(more(len(items)-n-1)) > width {
			break
		}
		shown = next
	}
	return shown + more(len(items)-n)
}

// more is the " + N more..." kubectl appends to a list cut short; "" for
// none.
func more(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" + %d more...", n)
}

// cellWidth is how wide a list cell may be on out: what the terminal's
// width leaves beside the other columns (used columns wide), at least 20;
// listWidth when out is no terminal.
func cellWidth(out any, used int) int {
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return listWidth
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 {
		return listWidth
	}
	return max(20, w-used)
}
