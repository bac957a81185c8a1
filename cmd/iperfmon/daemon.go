package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// -D/--daemon, as iperf3 -s -D: the server runs on in the background.
// Go cannot fork, so the process starts itself again (same arguments) in
// a new session with stdio on /dev/null (--logfile and -I apply to that
// child), waits until the child listens, and exits 0; when the child
// cannot start, its error is printed here and the exit is 1.

// daemonEnv marks the child: it serves instead of starting another, and
// reports on fd 3 "ok" once it listens, or its error.
const daemonEnv = "IPERFMON_DAEMON_CHILD"

// daemonWait bounds the wait for the child to listen.
const daemonWait = 10 * time.Second

// daemonChild is the child's end of the start-up report; nil otherwise.
func (a *app) daemonChild() io.WriteCloser {
	if a.getenv(daemonEnv) == "" {
		return nil
	}
	return os.NewFile(3, "daemon-ready")
}

// daemonReport tells the parent that the child listens (err nil) or why it
// could not start, once; later calls do nothing.
func daemonReport(w *io.WriteCloser, err error) {
	if *w == nil {
		return
	}
	msg := "ok"
	if err != nil {
		msg = strings.ReplaceAll(err.Error(), "\n", " ")
	}
	_, _ = fmt.Fprintln(*w, msg)
	_ = (*w).Close()
	*w = nil
}

// readDaemonReport reads the child's start-up report from r.
func readDaemonReport(r io.Reader) error {
	line, err := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok":
		return nil
	case line != "":
		return errors.New(line)
	case err != nil:
		return fmt.Errorf("the background server exited before it listened (%v)", err)
	}
	return errors.New("the background server did not start")
}
