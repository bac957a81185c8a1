//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// daemonize starts the server again as a background child and returns
// this process's exit status.
func (a *app) daemonize(args []string) int {
	fail := func(err error) int {
		fmt.Fprintf(a.stderr, "E! iperfmon server: -D/--daemon: %v\n", err)
		return exitFail
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fail(err)
	}
	defer devnull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	cmd := exec.Command(exe, append([]string{"server"}, args...)...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.ExtraFiles = []*os.File{w} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		return fail(err)
	}
	done := make(chan error, 1)
	go func() { done <- readDaemonReport(r) }()
	select {
	case err = <-done:
	case <-time.After(daemonWait):
		err = fmt.Errorf("the background server (pid %d) did not report within %v", cmd.Process.Pid, daemonWait)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return fail(err)
	}
	_ = cmd.Process.Release() // it runs on in its own session
	return exitOK
}
