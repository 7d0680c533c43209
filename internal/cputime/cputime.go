// Package cputime reads the CPU time benchmarks report beside wall time:
// on a machine shared with other work, wall-clock ns/op also counts the
// time spent waiting for a core, CPU time does not. Where a clock is not
// available the readers return 0 and the metrics built on them read 0.
package cputime
