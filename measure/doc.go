// Package measure is a pure-Go implementation of the iperf3 protocol, client
// and server, wire compatible with stock iperf3 3.9 … 3.21. It imports only
// the standard library, golang.org/x/sys and two internal packages of its
// own: internal/iperf3wire (iperf3's wire format) and internal/iperf3text
// (iperf3's text units and lines).
//
// Client.Run runs one Test (TCP or UDP; forward, reverse or bidirectional;
// ended by time, bytes or blocks) against any iperf3 server and returns a
// Result: per direction, what the sender and the receiver counted, TCP_INFO
// figures, UDP jitter and loss, intervals, and both hosts' CPU use. Every
// read and write has a deadline; on failure the error is an *Error whose
// ResultCode (see Classify) says what went wrong: connection_failed,
// timeout, server_busy, access_denied, auth_failed, server_error or
// protocol_error.
//
// Server serves stock iperf3 clients and Client on the listener from Listen
// (one dual-stack socket by default): up to MaxTests tests at once on one
// port, streams matched to their test by cookie, iperf3's busy answer
// beyond that, limits (MaxDuration, MaxParallel, MaxBitrate, a cap on every
// length-prefixed message), IdleTimeout on every phase, Allow lists and
// iperf3's RSA authentication (OAEP and PKCS#1 v1.5 tokens). OnResult gets
// one ServedTest per test served or refused. Cancelling Serve's context or
// calling Close ends running tests with SERVER_TERMINATE, so that clients
// print "the server has terminated"; Shutdown first lets them finish.
//
// Reports can also follow a test while it runs, as iperf3 prints them:
// Test.OnStart and Test.OnInterval (client), Server.OnTestStart and
// Server.OnInterval (server) get the start and every interval as the
// sampler cuts it, from one goroutine per test that is neither a data
// stream nor the sampler (see live.go). Test.MPTCP and ListenMPTCP use
// Multipath TCP where the kernel has it (MPTCPAvailable).
package measure
