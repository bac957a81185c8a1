// Command bench runs iperfmon and stock iperf3 side by side on loopback and
// prints a table of both tools' figures, the ratios iperfmon/iperf3
// (medians over alternating repetitions) and whether each performance
// target (docs/performance.md) is met. scripts/bench.sh builds iperfmon and runs it; see there
// for the knobs. Only 127.0.0.1 and free ports are used.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iperfmon/iperfmon/internal/procstat"
)

type config struct {
	iperfmon, iperf3       string
	reps, seconds, omit    int
	clientCPUs, serverCPUs string
	only                   *regexp.Regexp
	markdown               bool
	// stockVersion is the stock iperf3's version ("3.22"), which the
	// table names; gsro says it has --gsro.
	stockVersion string
	gsro         bool
	// cpus are the CPUs watched for steal (nil: all); policy says what
	// happens to a disturbed run; a row with fewer than minClean clean runs
	// per tool shows no ratio.
	cpus     []int
	policy   rerunPolicy
	minClean int
	settle   time.Duration // wait at most this for a quiet second before a rerun
}

func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "E! %s=%q: want a whole number >= 0\n", name, v)
		os.Exit(2)
	}
	return n
}

func envFloat(name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 100 {
		fmt.Fprintf(os.Stderr, "E! %s=%q: want a percentage from 0 to 100\n", name, v)
		os.Exit(2)
	}
	return f
}

func envStr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func loadConfig() config {
	c := config{
		iperfmon:   envStr("IPERFMON", "./iperfmon"),
		iperf3:     envStr("IPERF3", "/usr/bin/iperf3"),
		reps:       envInt("BENCH_REPS", 3),
		seconds:    envInt("BENCH_TIME", 3),
		omit:       envInt("BENCH_OMIT", 1),
		clientCPUs: envStr("BENCH_CLIENT_CPUS", "0"),
		serverCPUs: envStr("BENCH_SERVER_CPUS", "1"),
		markdown:   envStr("BENCH_FORMAT", "markdown") == "markdown",
	}
	if os.Getenv("BENCH_QUICK") == "1" {
		c.reps, c.seconds, c.omit = 1, 1, 0
	}
	if c.reps < 1 || c.seconds < 1 {
		fmt.Fprintln(os.Stderr, "E! BENCH_REPS and BENCH_TIME must be at least 1")
		os.Exit(2)
	}
	re, err := regexp.Compile(envStr("BENCH_ONLY", ""))
	if err != nil {
		fmt.Fprintf(os.Stderr, "E! BENCH_ONLY: %v\n", err)
		os.Exit(2)
	}
	c.only = re
	if c.cpus, err = watchedCPUs(c.clientCPUs, c.serverCPUs); err != nil {
		fmt.Fprintf(os.Stderr, "E! %v\n", err)
		os.Exit(2)
	}
	c.policy = rerunPolicy{
		maxSteal: envFloat("BENCH_MAX_STEAL", 100*procstat.UnfitSteal),
		maxOther: envFloat("BENCH_MAX_OTHER", 10),
		perKey:   envInt("BENCH_MAX_RERUNS", 3),
		budget:   time.Duration(envInt("BENCH_RERUN_TIME", 300)) * time.Second,
	}
	c.settle = time.Duration(envInt("BENCH_SETTLE", 20)) * time.Second
	c.minClean = envInt("BENCH_MIN_CLEAN", (c.reps+1)/2)
	if c.minClean < 1 || c.minClean > c.reps {
		fmt.Fprintf(os.Stderr, "E! BENCH_MIN_CLEAN=%d: want 1 to BENCH_REPS (%d)\n", c.minClean, c.reps)
		os.Exit(2)
	}
	c.stockVersion, c.gsro = stockInfo(c.iperf3)
	return c
}

// stockInfo reads the stock iperf3's version and whether it has --gsro.
func stockInfo(bin string) (version string, gsro bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--version").Output()
	if f := strings.Fields(string(out)); len(f) > 1 && f[0] == "iperf" {
		version = f[1]
	}
	help, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	return version, strings.Contains(string(help), "--gsro")
}

func main() {
	cfg := loadConfig()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := measureAll(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "E! %v\n", err)
		os.Exit(1)
	}
	rows := buildRows(cfg, res)
	idle, err := idleRSS(ctx, cfg.iperfmon, 3*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stderr, "E! idle run RSS: %v\n", err)
		os.Exit(1)
	}
	rows = append(rows, row{name: "idle `iperfmon run` RSS (MB)", stock: -1, ours: float64(idle) / 1e6, target: "≤ 40 MB", met: float64(idle) <= 40e6, absolute: true})
	printTable(os.Stdout, cfg, rows, time.Since(start))
	for _, r := range rows {
		if r.target != "" && !r.met {
			os.Exit(3) // a target is missed or not shown: the table says which
		}
	}
}
