//go:build !linux

package main

import "errors"

func setAffinity(int) error {
	return errors.New("CPU affinity is set on Linux only: use the system's own tool (cpuset, start /affinity)")
}
