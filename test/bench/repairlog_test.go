package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRepairAttribution reads the operator's log as the drift phases do:
// only timed "Corrected drift" lines after the offset count, each sample
// takes its object's lines in order, and the split adds up to what the
// bench measured.
func TestRepairAttribution(t *testing.T) {
	start := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "operator.log")
	before := `{"level":"info","ts":"2026-12-03T17:59:59.000000000Z","msg":"Corrected drift","object":{"name":"q","namespace":"a"},"sinceSeen":9,"queueWait":9,"write":9}` + "\n"
	lines := []string{
		// a: deletion seen by the operator 10 ms after the request, queue 5, plan 20, write 15: logged at +50.
		`{"level":"info","ts":"2026-12-03T18:00:00.050000000Z","msg":"Corrected drift","object":{"name":"q","namespace":"a"},"sinceSeen":0.040,"queueWait":0.005,"write":0.015}`,
		`{"level":"info","ts":"2026-12-03T18:00:00.060000000Z","msg":"Reconciled Tenant"}`,
		// Found by a resync: no timing, not a sample's.
		`{"level":"info","ts":"2026-12-03T18:00:00.070000000Z","msg":"Corrected drift","object":{"name":"q","namespace":"b"}}`,
		`not json`,
	}
	if err := os.WriteFile(path, []byte(before+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logged, err := readRepairs(path, int64(len(before)))
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || len(logged["a/q"]) != 1 {
		t.Fatalf("logged = %v, want one timed line for a/q", logged)
	}
	samples := []repairSample{
		{key: "a/q", took: 52, start: start, benchSawDelete: 9},
		{key: "b/q", took: 80, start: start},
	}
	slowest, untimed := attribute(samples, logged)
	if untimed != 1 {
		t.Fatalf("untimed = %d, want 1 (b/q has no timed line)", untimed)
	}
	if len(slowest) != 2 || !strings.Contains(slowest[0], "b/q 80 ms: no timed correction") {
		t.Fatalf("slowest = %q", slowest)
	}
	want := "a/q 52 ms = deletion seen 10 (by the bench's watch: 9) + queue 5 + plan 20 + write 15 + re-creation seen 2"
	if slowest[1] != want {
		t.Fatalf("got  %q\nwant %q", slowest[1], want)
	}
	if got := repairSplit(samples); got != [5]float64{10, 5, 20, 15, 2} {
		t.Fatalf("split = %v", got)
	}
}
