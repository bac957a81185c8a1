package measure

import (
	"bytes"
	"testing"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/stretchr/testify/require"
)

// TestReadServerErrorWithoutErrno: iperf3 3.9-3.20 answer a failed
// authentication with SERVER_ERROR, IEAUTHTEST and no errno, then close.
// That must classify as auth_failed, not as a truncated message.
func TestReadServerErrorWithoutErrno(t *testing.T) {
	se, err := readServerError(bytes.NewReader([]byte{0, 0, 0, iperf3wire.IEAUTHTEST}))
	require.NoError(t, err)
	require.Equal(t, &ServerError{Num: iperf3wire.IEAUTHTEST}, se)
	require.Equal(t, CodeAuthFailed, Classify(se))

	se, err = readServerError(bytes.NewReader([]byte{0, 0, 0, 5, 0, 0, 0, 111}))
	require.NoError(t, err)
	require.Equal(t, &ServerError{Num: 5, Errno: 111}, se)

	_, err = readServerError(bytes.NewReader([]byte{0, 0, 0}))
	require.Error(t, err)
}
