package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// iperfmonBinary builds cmd/iperfmon once, as it ships (CGO_ENABLED=0,
// no race detector: the soak watches the real program's footprint).
func iperfmonBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "iperfmon-soak-")
		if err != nil {
			buildErr = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		binPath = filepath.Join(dir, "iperfmon")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/iperfmon")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a running iperfmon with its stdout lines on a channel.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string // closed at EOF
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{}
	code   int
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(iperfmonBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, lines: make(chan string, 10000), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	// run keeps stdin open (EOF would stop it): a pipe we never close early.
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	readDone := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			p.lines <- sc.Text()
		}
		close(p.lines)
		close(readDone)
	}()
	go func() {
		<-readDone
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		_ = err
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		stdin.Close()
	})
	return p
}

// stop sends sig and returns the exit code and how long the exit took.
func (p *proc) stop(t *testing.T, sig syscall.Signal, limit time.Duration) (int, time.Duration) {
	t.Helper()
	began := time.Now()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
		return p.code, time.Since(began)
	case <-time.After(limit):
		t.Fatalf("iperfmon did not exit within %s of %s; stderr:\n%s", limit, sig, p.stderr.String())
		return -1, 0
	}
}

// waitListening waits until something accepts on 127.0.0.1:port.
func waitListening(t *testing.T, port int) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 10*time.Second, 20*time.Millisecond, "nothing listens on port %d", port)
}

// usage is a process's footprint read from /proc.
type usage struct {
	at      time.Duration
	rssKiB  int
	fds     int
	threads int
}

func (u usage) String() string {
	return fmt.Sprintf("t=%s rss=%d KiB fds=%d threads=%d", u.at.Round(time.Second), u.rssKiB, u.fds, u.threads)
}

func readUsage(pid int, since time.Time) (usage, error) {
	u := usage{at: time.Since(since)}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			u.rssKiB, _ = strconv.Atoi(f[1])
		case "Threads:":
			u.threads, _ = strconv.Atoi(f[1])
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return u, err
	}
	u.fds = len(ents)
	return u, nil
}

// sampler reads a process's usage every period until stopped.
type sampler struct {
	mu      sync.Mutex
	samples []usage
	stop    chan struct{}
	done    chan struct{}
}

func sample(pid int, period time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	since := time.Now()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				if u, err := readUsage(pid, since); err == nil {
					s.mu.Lock()
					s.samples = append(s.samples, u)
					s.mu.Unlock()
				}
			}
		}
	}()
	return s
}

func (s *sampler) Stop() []usage {
	close(s.stop)
	<-s.done
	return s.samples
}

// window is the peak usage over samples[from:to] (fractions of the run),
// with the fewest descriptors seen (between tests) in minFDs.
func window(samples []usage, from, to float64) (peak usage, minFDs int) {
	lo, hi := int(from*float64(len(samples))), int(to*float64(len(samples)))
	hi = max(hi, lo+1)
	minFDs = 1 << 30
	for _, u := range samples[lo:min(hi, len(samples))] {
		peak.rssKiB = max(peak.rssKiB, u.rssKiB)
		peak.fds = max(peak.fds, u.fds)
		peak.threads = max(peak.threads, u.threads)
		peak.at = u.at
		minFDs = min(minFDs, u.fds)
	}
	return peak, minFDs
}

// testFDs is what one test in flight holds open: the control connection,
// a data stream and a spare (a timer or a probe socket).
const testFDs = 3

// requireNoGrowth compares the run's last fifth with its middle (after
// the heap has grown to its working size). The fewest descriptors in a
// window is the count between tests; when tests follow each other so
// closely that no sample of the last fifth falls between two, it is the
// count with one test in flight, so it may exceed the middle's by that
// test's sockets (testFDs) and no more. A leak of even one descriptor
// per test adds one for every test between the windows (dozens). A test
// in flight adds only its own few sockets; threads must not grow, and RSS
// may only wobble by rssSlackKiB.
func requireNoGrowth(t *testing.T, name string, samples []usage, rssSlackKiB int) {
	t.Helper()
	require.GreaterOrEqual(t, len(samples), 10, "%s: too few samples", name)
	base, baseFDs := window(samples, 0.3, 0.5)
	end, endFDs := window(samples, 0.8, 1)
	t.Logf("%s: mid-run peak %s, fewest fds %d; final peak %s, fewest fds %d", name, base, baseFDs, end, endFDs)
	require.LessOrEqual(t, endFDs, baseFDs+testFDs, "%s: open descriptors between tests grew", name)
	require.LessOrEqual(t, end.fds, baseFDs+6, "%s: more descriptors than one test needs", name)
	require.LessOrEqual(t, end.threads, base.threads+2, "%s: threads grew", name)
	require.LessOrEqual(t, end.rssKiB, base.rssKiB+rssSlackKiB, "%s: RSS grew", name)
}
