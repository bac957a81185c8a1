package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/measure/report"
	"github.com/spf13/pflag"
)

// client runs one test like `iperf3 -c`: exit 0 on success, 1 when the
// test failed, 2 on bad usage.
func (a *app) client(ctx context.Context, args []string) int {
	fs := newFlagSet("client")
	var cf clientFlags
	cf.register(fs)
	output, format := outText, ""
	var jsonOut, intervalMetrics bool
	fs.BoolVarP(&jsonOut, "json", "J", false, "iperf3's JSON output (same as -o json)")
	fs.VarP(choiceValue{&output, []string{outText, outJSON, outInflux, outPrometheus}}, "output", "o",
		"output format: text, json, influx (line protocol) or prometheus (text exposition)")
	fs.StringVarP(&format, "format", "f", "", "text units: k m g t (bits/s), K M G T (bytes/s) (default adaptive)")
	fs.BoolVar(&intervalMetrics, "interval-metrics", false, "with -o influx, also print iperf3_interval points")

	if err := parseFlags(fs, args); err != nil {
		a.usageError("client", err)
		return exitUsage
	}
	if cf.help {
		a.help(usageClient, fs)
		return exitOK
	}
	if jsonOut {
		if fs.Changed("output") && output != outJSON {
			a.usageError("client", usagef("-J/--json and -o/--output %s: choose one", output))
			return exitUsage
		}
		output = outJSON
	}
	unit, err := validateFormat(format)
	if err == nil && intervalMetrics && output != outInflux {
		err = usagef("--interval-metrics: only with -o influx")
	}
	var test measure.Test
	if err == nil {
		test, err = cf.test(fs, fs.Args(), a.getenv)
	}
	if err != nil {
		a.usageError("client", err)
		return exitUsage
	}
	done, err := a.applyCommon(&cf.common, output == outText, cf.compat.title)
	if err != nil {
		a.usageError("client", err)
		return exitUsage
	}
	defer done()
	if cf.common.jsonStream {
		if fs.Changed("output") && output != outJSON && output != outText {
			a.usageError("client", usagef("--json-stream and -o/--output %s: choose one", output))
			return exitUsage
		}
		output = outJSONStream
		if cf.common.jsonStreamFull {
			output = outJSONStreamFull
		}
	}
	log := newLogger(a.stderr, cf.debug)
	test.Logger = log.slog()
	live := newLiveOutput(a.stdout, output, renderOptions(unit, nil))
	live.attach(&test)

	start := time.Now()
	res, testErr := runTest(ctx, test)
	warnLatency(log, res)
	if testErr != nil {
		log.Errorf("test against %s failed: %v (result=%s)", hostPortString(test), testErr, measure.Classify(testErr))
	}
	if err := a.render(output, unit, intervalMetrics, test, res, testErr, start, live); err != nil {
		log.Errorf("%v", err)
		return exitFail
	}
	if testErr != nil {
		return exitFail
	}
	return exitOK
}

// renderOptions are the report options of the client's output.
func renderOptions(unit byte, testErr error) report.Options {
	return report.Options{Version: "iperfmon " + versionString(), Format: unit, Err: testErr}
}

// render writes a test's outcome to stdout in the chosen format. A failed
// test still gives iperf3's error document (json) or the failure points
// (influx, prometheus). live, when it printed the start, has the rest.
func (a *app) render(output string, unit byte, intervals bool, test measure.Test, res *measure.Result, testErr error, start time.Time, live *liveOutput) error {
	opt := renderOptions(unit, testErr)
	if output == outText {
		if done, err := live.finish(res, nil); done {
			return err
		}
	}
	switch output {
	case outJSON, outJSONStream, outJSONStreamFull:
		b, err := report.JSONWith(res, opt)
		if err != nil {
			return fmt.Errorf("render json: %w", err)
		}
		if done, err := live.finish(res, b); done {
			return err
		}
		if output != outJSON {
			return jsonStream(a.stdout, b, output == outJSONStreamFull)
		}
		_, err = a.stdout.Write(b)
		return err
	case outInflux:
		lw, err := newLineWriter(a.stdout)
		if err != nil {
			return err
		}
		return lw.write(pointsFor(test, res, testErr, start, intervals)...)
	case outPrometheus:
		return writePrometheus(a.stdout, pointsFor(test, res, testErr, start, false))
	}
	if res == nil || len(res.Directions) == 0 {
		return nil // the error is on stderr; iperf3 prints nothing else either
	}
	return report.TextWith(a.stdout, res, opt)
}

// newFlagSet is a pflag set that reports errors to us instead of printing.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	return fs
}
