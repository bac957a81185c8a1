//go:build linux

// Package netnstest names and sweeps the network namespaces that test
// suites create: each name starts with the suite's prefix and the test
// binary's PID, so that leftovers of a crashed run can be told from the
// namespaces of a run still going.
package netnstest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// Own is the start of this process's namespace names for a suite prefix.
func Own(prefix string) string { return fmt.Sprintf("%s%d-", prefix, os.Getpid()) }

// RemoveStale deletes namespaces with the prefix whose test process is gone.
func RemoveStale(prefix string) {
	for _, name := range list(prefix) {
		rest := strings.TrimPrefix(name, prefix)
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue // not a name we make, ours, or its run is still going
		}
		remove(name)
	}
}

// RemoveOwn deletes every namespace of this process with the prefix, for
// TestMain to call after the tests in case a cleanup did not run.
func RemoveOwn(prefix string) { Remove(Own(prefix)) }

// Remove deletes every namespace whose name starts with prefix.
func Remove(prefix string) {
	for _, name := range list(prefix) {
		remove(name)
	}
}

// Run runs a short configuration command (ip, tc, nft) with stdin and a
// 10 s deadline; its error carries the command and its output.
func Run(stdin string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, args[0], args[1:]...)
	c.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// list returns the namespaces whose names start with prefix.
func list(prefix string) []string {
	ip, ok := testenv.LookTool("ip")
	if !ok {
		return nil
	}
	out, err := exec.Command(ip, "netns", "list").Output()
	if err != nil {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names
}

func remove(name string) {
	if ip, ok := testenv.LookTool("ip"); ok {
		_ = exec.Command(ip, "netns", "delete", name).Run()
	}
}
