// Package iperf3text is iperf3's human output in one place, as iperf3 keeps
// it in one units.c: unit scaling, the column headers and the parts every
// interval and summary line shares. The server's --get-server-output text
// (measure) and the client's text (measure/report) are both built from it,
// so the two cannot drift apart.
package iperf3text
