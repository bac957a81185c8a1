package main

import (
	"bufio"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// proc is a long-running iperfmon with its stdout lines on a channel.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, closed at EOF
	stderr *strings.Builder
	done   chan error
}

func startIperfmon(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	p := &proc{cmd: cmd, lines: make(chan string, 100), stderr: &strings.Builder{}, done: make(chan error, 1)}
	var err error
	p.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	stderrDone := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() {
		b, _ := io.ReadAll(errPipe)
		p.stderr.Write(b)
		close(stderrDone)
	}()
	go func() {
		<-stderrDone
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return p
}

// next returns the next stdout line within d.
func (p *proc) next(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		require.True(t, ok, "stdout closed; stderr:\n%s", p.stderr)
		return l
	case <-time.After(d):
		t.Fatalf("no output within %v", d)
	}
	return ""
}

// wait returns the exit code within d.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(d):
		t.Fatalf("did not exit within %v", d)
	}
	return -1
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
