package mtasts

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEveryCaseHasARow: every case of sections 1-5 of the project's
// engine-cases.md (1 to 60) names at least one test row ("c07 ... §3.1"),
// and that row names its RFC section (or the DECISION it follows).
func TestEveryCaseHasARow(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	caseRef := regexp.MustCompile(`\bc(\d\d)\b`)
	covered := map[int]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, lit := range literal.FindAllString(string(b), -1) {
			if !strings.Contains(lit, "§") && !strings.Contains(lit, "DECISION") {
				continue
			}
			for _, m := range caseRef.FindAllStringSubmatch(lit, -1) {
				n, _ := strconv.Atoi(m[1])
				covered[n] = true
			}
		}
	}
	for n := 1; n <= 60; n++ {
		if !covered[n] {
			t.Errorf("case %d has no test row naming it (\"c%02d ... §x.y\")", n, n)
		}
	}
}
