// Package fleet checks fleets and meshes for real: dozens of agents in
// their own network namespaces on one bridge, each running `iperfmon run`
// with the same config file and its own --agent, testing stock iperf3 and
// `iperfmon server` over links shaped with tbf, so that every test takes
// real time and two tests sharing a server would show as halved rates.
//
// It needs root, ip, tc and iperf3; without them it skips with a message
// (and fails under CI=true). Traffic stays inside namespaces the test
// creates (192.0.2.0/24 and 198.51.100.0/24, TEST-NET addresses).
//
//	sudo go test -v ./test/fleet/
//
// The report at the end of each test gives, for fleet slots and for splay,
// how many tests were measured, refused as busy and skipped, and the rate
// errors; docs/fleet.md keeps a copy.
package fleet
