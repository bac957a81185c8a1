// Package e2e holds iperfmon's end-to-end tests: the examples in examples/
// run against the real programs they are written for (InfluxDB 1.x, Prometheus and promtool,
// systemd-analyze, Telegraf, cron syntax), and whole pipelines
// (iperfmon → Telegraf → InfluxDB, iperfmon exporter → Prometheus) run on
// loopback.
//
// Tools that are missing make a test skip, or fail when CI=true. Telegraf is
// found through IPERFMON_TELEGRAF (scripts/build-telegraf.sh builds one).
package e2e
