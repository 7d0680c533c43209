// Package heaptest measures, for benchmarks, the heap a structure holds.
package heaptest

import "runtime"

// Held reports the heap that fill leaves allocated, in bytes: the live heap
// after a collection, less the live heap before fill.
func Held(fill func()) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc) - float64(before.HeapAlloc)
}
