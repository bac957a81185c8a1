package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iperfmon/iperfmon/internal/ports"
)

// usage is what one process cost: CPU seconds (user+sys from wait4's
// rusage, so it includes every thread) and peak RSS (VmHWM). wait4's
// ru_maxrss is no good here: exec folds the parent's (this driver's)
// high-water mark into the child's.
type usage struct {
	cpu    float64 // seconds
	maxRSS int64   // bytes
	csw    int64   // context switches, voluntary and involuntary
}

func rusageOf(ps *os.ProcessState) usage {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return usage{}
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return usage{cpu: tv(ru.Utime) + tv(ru.Stime), maxRSS: ru.Maxrss * 1024, csw: ru.Nvcsw + ru.Nivcsw}
}

// pinned prefixes argv with taskset when a CPU list is given.
func pinned(cpus string, argv []string) []string {
	if cpus == "" {
		return argv
	}
	return append([]string{"taskset", "-c", cpus}, argv...)
}

// runPair starts a one-off server, waits for its listener, runs the client
// with -J and returns the client's JSON and both processes' usage.
func runPair(ctx context.Context, cfg config, server, client []string, port int, limit time.Duration) (*iperfJSON, usage, usage, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	sargv := pinned(cfg.serverCPUs, server)
	srv := exec.CommandContext(ctx, sargv[0], sargv[1:]...)
	var serr bytes.Buffer
	srv.Stdout, srv.Stderr = &serr, &serr
	if err := srv.Start(); err != nil {
		return nil, usage{}, usage{}, fmt.Errorf("start server %q: %w", server[0], err)
	}
	defer func() { _ = srv.Process.Kill() }()
	deadline := time.Now().Add(5 * time.Second)
	for !ports.Listening(port) {
		if time.Now().After(deadline) {
			return nil, usage{}, usage{}, fmt.Errorf("server %q not listening on %d after 5s: %s", server[0], port, serr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cargv := pinned(cfg.clientCPUs, client)
	cl := exec.CommandContext(ctx, cargv[0], cargv[1:]...)
	var out, cerr bytes.Buffer
	cl.Stdout, cl.Stderr = &out, &cerr
	if err := cl.Start(); err != nil {
		return nil, usage{}, usage{}, fmt.Errorf("start client %q: %w", client[0], err)
	}
	hwm := watchHWM(ctx, cl.Process.Pid, srv.Process.Pid)
	runErr := cl.Wait()
	// The -1 server exits after its test; give it a moment, then stop it.
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = srv.Process.Signal(syscall.SIGTERM)
		<-done
	}
	var js iperfJSON
	if err := json.Unmarshal(out.Bytes(), &js); err != nil {
		return nil, usage{}, usage{}, fmt.Errorf("client %q: %v (run error %v): %s %s", client[0], err, runErr, out.String(), cerr.String())
	}
	if js.Error != "" {
		return nil, usage{}, usage{}, fmt.Errorf("client %q: %s (server: %s)", client[0], js.Error, serr.String())
	}
	var cu, su usage
	if cl.ProcessState != nil {
		cu = rusageOf(cl.ProcessState)
	}
	if srv.ProcessState != nil {
		su = rusageOf(srv.ProcessState)
	}
	cu.maxRSS, su.maxRSS = hwm()
	return &js, cu, su, nil
}

// statusKB reads one "Name:   N kB" line of /proc/PID/status.
func statusKB(pid int, name string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// watchHWM samples the peak RSS (VmHWM, which only grows) of both
// processes every 50 ms until the returned func is called, which gives
// the last values seen. taskset execs in place, so the pid is the tool's.
func watchHWM(ctx context.Context, client, server int) func() (int64, int64) {
	var c, s int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := statusKB(client, "VmHWM"); err == nil {
				c = max(c, v*1024)
			}
			if v, err := statusKB(server, "VmHWM"); err == nil {
				s = max(s, v*1024)
			}
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() (int64, int64) { close(stop); <-done; return c, s }
}

// idleRSS starts `iperfmon run --config` with a schedule that does not fire
// during the wait and returns its resident set after settle.
func idleRSS(ctx context.Context, bin string, settle time.Duration) (int64, error) {
	dir, err := os.MkdirTemp("", "iperfmon-bench")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	conf := dir + "/iperfmon.conf"
	// A yearly schedule: the process loads, schedules and then idles.
	body := "[[inputs.iperf3]]\n  servers = [\"127.0.0.1:9\"]\n  schedule = \"0 0 1 1 *\"\n  duration = \"1s\"\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, bin, "run", "--config", conf)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	stdin, err := cmd.StdinPipe() // run exits when stdin closes
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(settle)
	kb, err := statusKB(cmd.Process.Pid, "VmRSS")
	if err != nil {
		return 0, fmt.Errorf("iperfmon run: %v: %s", err, errb.String())
	}
	return kb * 1024, nil
}
