package retry

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

var errBusy = &measure.Error{Code: measure.CodeServerBusy, Op: "test", Err: errors.New("the server is busy running a test")}

func TestPolicy(t *testing.T) {
	refused := fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
	cases := []struct {
		name     string
		policy   Policy
		timeout  time.Duration
		outcomes []error // what each attempt returns; the last repeats
		attempts int
		ok       bool
	}{
		{"success at once", Policy{Busy: 3, Backoff: time.Second}, 0, []error{nil}, 1, true},
		{"busy then free", Policy{Busy: 3, Backoff: time.Second}, 0, []error{errBusy, errBusy, nil}, 3, true},
		{"busy beyond the retries", Policy{Busy: 2, Backoff: time.Second}, 0, []error{errBusy}, 3, false},
		{"no retries", Policy{Busy: 0, Backoff: time.Second}, 0, []error{errBusy}, 1, false},
		// 10s test, 11.5s deadline: a 1s wait leaves 10.5s, less than a test + 1s.
		{"no whole test fits", Policy{Busy: 5, Backoff: time.Second}, 11500 * time.Millisecond, []error{errBusy}, 1, false},
		{"refused briefly", Policy{}, 0, []error{refused, refused, nil}, 3, true},
		{"refused for good", Policy{}, 0, []error{refused}, 1 + RefusedRetries, false},
		{"other failures are final", Policy{Busy: 3, Backoff: time.Second}, 0, []error{&measure.Error{Code: measure.CodeTimeout, Err: errors.New("x")}}, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c.policy.Jitter = func(d time.Duration) time.Duration { return d }
				attempts := 0
				var timeouts []time.Duration
				run := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
					timeouts = append(timeouts, test.Timeout)
					err := c.outcomes[min(attempts, len(c.outcomes)-1)]
					attempts++
					if err != nil {
						return nil, err
					}
					return &measure.Result{}, nil
				}
				test := measure.Test{Host: "192.0.2.1", Duration: 10 * time.Second, Timeout: c.timeout}
				began := time.Now()
				_, res, err := c.policy.Run(context.Background(), test, run)
				if attempts != c.attempts {
					t.Errorf("%d attempts, want %d", attempts, c.attempts)
				}
				if (err == nil) != c.ok || (res != nil) != c.ok {
					t.Errorf("res %v err %v, want success %v", res, err, c.ok)
				}
				deadline := c.timeout
				if deadline == 0 {
					deadline = 25 * time.Second
				}
				if used := time.Since(began); used > deadline {
					t.Errorf("took %s, past the %s deadline", used, deadline)
				}
				for i := 1; i < len(timeouts); i++ {
					if timeouts[i] >= timeouts[i-1] {
						t.Errorf("attempt %d got %s, not less than the %s before: each gets the time left", i+1, timeouts[i], timeouts[i-1])
					}
				}
			})
		})
	}
}
