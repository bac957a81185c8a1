//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/ports"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// proc is a background process in its own process group, so that stopping it
// also stops whatever it started (Telegraf's exec/execd children).
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout testenv.Buffer
	stderr testenv.Buffer
	done   chan struct{}
	err    error // valid after done is closed
}

// startProc starts a process; t.Cleanup stops it (SIGTERM to the group, then
// SIGKILL) and logs its output when the test failed.
func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	// Own process group; die with the test binary if it is killed.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("%s stdout:\n%s", name, tail(p.stdout.String(), 4000))
			t.Logf("%s stderr:\n%s", name, tail(p.stderr.String(), 4000))
		}
	})
	return p
}

// stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Children that outlived their parent (same group) go too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// freePorts returns n distinct loopback ports that were free a moment
// ago. Only for programs that cannot be told to listen on port 0.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	got, err := ports.FreeN("127.0.0.1", n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitFor polls cond every interval until it returns nil or timeout passes;
// it returns cond's last error. Used only for outside programs that give no
// ready signal (influxd, Telegraf); tests of our code synchronise on output.
func waitFor(ctx context.Context, timeout, interval time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = cond(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("after %v: %w", timeout, last)
		case <-time.After(interval):
		}
	}
}

// runCmd runs a command with a deadline and returns combined output and exit code.
func runCmd(t testing.TB, timeout time.Duration, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s: timed out after %v\n%s", strings.Join(args, " "), timeout, out)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	default:
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
		return "", -1
	}
}
