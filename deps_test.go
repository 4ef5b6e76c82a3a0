package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryDeps checks what the exporter's binary links, which no other
// test sees: the demo's fake must not bring in net/http/httptest, a package
// for tests, and the time zone database must be compiled in, since the
// distroless image has none.
func TestBinaryDeps(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	require.NoError(t, err, "go list -deps .")
	deps := strings.Fields(string(out))
	assert.NotContains(t, deps, "net/http/httptest")
	assert.Contains(t, deps, "time/tzdata")
}
