package store

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines shown around each change.
const diffContext = 3

// maxEditScript bounds the middle part that the exact diff works on; a larger
// difference is shown as whole removed and added blocks.
const maxEditScript = 4000

type edit struct {
	op   byte // ' ', '-', '+'
	line string
}

// Diff returns a unified line diff of a against b (deterministic, empty when equal).
func Diff(a, b, nameA, nameB string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	// Common prefix and suffix first: most changes are local.
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	var edits []edit
	for _, l := range x[:pre] {
		edits = append(edits, edit{' ', l})
	}
	edits = append(edits, middle(x[pre:len(x)-suf], y[pre:len(y)-suf])...)
	for _, l := range x[len(x)-suf:] {
		edits = append(edits, edit{' ', l})
	}
	return unified(edits, nameA, nameB)
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// middle computes a shortest edit script (Myers' O(ND) algorithm) between x and y.
func middle(x, y []string) []edit {
	n, m := len(x), len(y)
	if n+m > maxEditScript {
		return blocks(x, y)
	}
	max := n + m
	v := make([]int, 2*max+2)
	var trace [][]int
	for d := 0; d <= max; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[max+k-1] < v[max+k+1]) {
				i = v[max+k+1]
			} else {
				i = v[max+k-1] + 1
			}
			j := i - k
			for i < n && j < m && x[i] == y[j] {
				i, j = i+1, j+1
			}
			v[max+k] = i
			if i >= n && j >= m {
				return backtrack(trace, x, y, d)
			}
		}
	}
	return blocks(x, y)
}

func backtrack(trace [][]int, x, y []string, d int) []edit {
	max := len(x) + len(y)
	i, j := len(x), len(y)
	var rev []edit
	for ; d > 0; d-- {
		v := trace[d]
		k := i - j
		var pk int
		if k == -d || (k != d && v[max+k-1] < v[max+k+1]) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		pi := v[max+pk]
		pj := pi - pk
		for i > pi && j > pj {
			i, j = i-1, j-1
			rev = append(rev, edit{' ', x[i]})
		}
		if i == pi {
			j--
			rev = append(rev, edit{'+', y[j]})
		} else {
			i--
			rev = append(rev, edit{'-', x[i]})
		}
	}
	for i > 0 && j > 0 {
		i, j = i-1, j-1
		rev = append(rev, edit{' ', x[i]})
	}
	out := make([]edit, len(rev))
	for k, e := range rev {
		out[len(rev)-1-k] = e
	}
	return out
}

func blocks(x, y []string) []edit {
	out := make([]edit, 0, len(x)+len(y))
	for _, l := range x {
		out = append(out, edit{'-', l})
	}
	for _, l := range y {
		out = append(out, edit{'+', l})
	}
	return out
}

// unified renders edits as hunks with diffContext lines of context.
func unified(edits []edit, nameA, nameB string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", nameA, nameB)
	ai, bi := 1, 1 // line numbers at edits[i]
	for i := 0; i < len(edits); {
		if edits[i].op == ' ' {
			ai, bi, i = ai+1, bi+1, i+1
			continue
		}
		// A hunk: back up for context, then run until diffContext*2 unchanged lines.
		start := max(0, i-diffContext)
		end := i
		for end < len(edits) {
			if edits[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(edits) && edits[run].op == ' ' {
				run++
			}
			if run == len(edits) || run-end > 2*diffContext {
				end = min(run, end+diffContext)
				break
			}
			end = run
		}
		sa, sb := ai-(i-start), bi-(i-start)
		var la, lb int
		for _, e := range edits[start:end] {
			if e.op != '+' {
				la++
			}
			if e.op != '-' {
				lb++
			}
		}
		fmt.Fprintf(&b, "@@ -%s +%s @@\n", hunkRange(sa, la), hunkRange(sb, lb))
		for _, e := range edits[start:end] {
			b.WriteByte(e.op)
			b.WriteString(e.line)
			b.WriteByte('\n')
		}
		for _, e := range edits[i:end] {
			if e.op != '+' {
				ai++
			}
			if e.op != '-' {
				bi++
			}
		}
		i = end
	}
	return b.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
