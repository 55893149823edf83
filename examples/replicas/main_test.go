package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplicas(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, "", 3, 20*time.Millisecond))
	s := out.String()
	t.Log("\n" + s)
	assert.Equal(t, 3, strings.Count(s, "serves 2.0"), "every replica follows the deploy")
	assert.Equal(t, 3, strings.Count(s, "serves 1.0")-3, "every replica follows the rollback")
	assert.Contains(t, s, "one history, identical on all 3 replicas")
	assert.Contains(t, s, "5 rolled_back 1.0 by replica-2")
}
