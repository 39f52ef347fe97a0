package trust

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when goroutines started by the tests are still
// running after them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
