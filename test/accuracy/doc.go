// Package accuracy checks iperfmon's figures against known truth: links
// shaped with tc (tbf, htb) and lossy links made with nftables, between two
// network namespaces the tests create, with stock iperf3 measured on the same
// link in the same run for comparison. It needs root, ip, tc, nft and iperf3;
// see docs/accuracy.md for the method, the formulas and the latest table.
package accuracy
