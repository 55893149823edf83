package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the program and checks its story.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	s := out.String()
	t.Log("\n" + s)
	for _, want := range []string{
		"imported model_1.0_deployment.zip",
		"imported model_2.0_deployment.zip",
		"validated 1.0: valid=true",
		"validated 2.0: valid=true",
		"== serving 1.0",
		"0 failed requests during the swap",
		"now serving 2.0",
		"rolled back 2.0 -> 1.0; serving 1.0",
		"rolled_back",
	} {
		assert.Contains(t, s, want)
	}
}
