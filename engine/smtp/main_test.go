package smtp

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when goroutines started by the tests are still
// running after them: every connection and server must be closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
