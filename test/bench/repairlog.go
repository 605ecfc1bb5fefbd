package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// repairTiming is the operator's own account of one repair, from its
// "Corrected drift" log line, in milliseconds: from its watch seeing the
// deletion to its pass starting (queue), and to the correction written
// (total), of which the correcting write's own request (write). What the
// bench measured beyond total is the two watch deliveries, which the line's
// timestamp splits: the deletion to the operator, the re-creation to the
// bench.
type repairTiming struct {
	queue, total, write float64
	// logged is when the line was written, right after the correction.
	logged time.Time
}

// plan is the pass's time before its correcting write: gather, plan and
// any writes before it.
func (t repairTiming) plan() float64 { return t.total - t.queue - t.write }

// logEnd is the size of the operator's log: where the next phase's lines
// start.
func logEnd(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readRepairs returns the timed corrections the operator logged after
// offset from, by "<namespace>/<name>" in the order logged.
func readRepairs(path string, from int64) (map[string][]repairTiming, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil, err
	}
	out := map[string][]repairTiming{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
			// RFC 3339 with nanoseconds (the bench's --zap-time-encoding).
			TS     time.Time `json:"ts"`
			Object struct {
				Namespace, Name string
			} `json:"object"`
			// Seconds: the production encoder writes durations so.
			SinceSeen *float64 `json:"sinceSeen"`
			QueueWait *float64 `json:"queueWait"`
			Write     float64  `json:"write"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "Corrected drift" || line.SinceSeen == nil || line.QueueWait == nil {
			continue
		}
		key := line.Object.Namespace + "/" + line.Object.Name
		out[key] = append(out[key], repairTiming{queue: *line.QueueWait * 1000, total: *line.SinceSeen * 1000, write: line.Write * 1000, logged: line.TS})
	}
	return out, sc.Err()
}

// attribution is where a phase's repair time went, by the operator's log.
type attribution struct {
	// p50 of each part over the timed samples, ms: the deletion seen by
	// the operator, queue, plan, write, the re-creation seen by the bench.
	split [5]float64
	// slowest describes the slowest samples; untimed counts the samples
	// without a timed correction.
	slowest []string
	untimed int
}

// repairSample is one drift sample with the operator's account of it.
type repairSample struct {
	key   string
	took  float64 // ms, as the bench saw it
	start time.Time
	// benchSawDelete is when the bench's own watch delivered the deletion
	// (ms after the request): the operator's delivery against it tells
	// whether a slow one was the server's or the operator's.
	benchSawDelete float64
	timing         repairTiming
	timed          bool
}

// legs are the two watch deliveries of a timed sample, in ms: the
// deletion to the operator (delete request → its handler), and the
// re-creation to the bench (the operator's write done → the bench's watch).
func (s repairSample) legs() (toOperator, toBench float64) {
	seen := s.timing.logged.Add(-time.Duration(s.timing.total * float64(time.Millisecond)))
	return ms(seen.Sub(s.start)), s.took - ms(s.timing.logged.Sub(s.start))
}

// attribute splits the slowest samples' time by the operator's log: the
// deletion's delivery to the operator, the queue, the pass until its
// write, the write, the re-creation's delivery to the bench. A sample the
// log has no timing for was repaired by a pass nobody marked urgent.
func attribute(samples []repairSample, logged map[string][]repairTiming) (lines []string, untimed int) {
	for i := range samples {
		s := &samples[i]
		if l := logged[s.key]; len(l) > 0 {
			s.timing, s.timed, logged[s.key] = l[0], true, l[1:]
		} else {
			untimed++
		}
	}
	byTook := slices.Clone(samples)
	slices.SortFunc(byTook, func(a, b repairSample) int {
		switch {
		case a.took > b.took:
			return -1
		case a.took < b.took:
			return 1
		}
		return 0
	})
	for _, s := range byTook[:min(5, len(byTook))] {
		if !s.timed {
			lines = append(lines, fmt.Sprintf("%s %.0f ms: no timed correction logged (a pass nobody marked urgent repaired it)", s.key, s.took))
			continue
		}
		toOp, toBench := s.legs()
		lines = append(lines, fmt.Sprintf("%s %.0f ms = deletion seen %.0f (by the bench's watch: %.0f) + queue %.0f + plan %.0f + write %.0f + re-creation seen %.0f", s.key, s.took,
			toOp, s.benchSawDelete, s.timing.queue, s.timing.plan(), s.timing.write, toBench))
	}
	return lines, untimed
}

// repairSplit is the p50 of each part over the timed samples, in ms.
func repairSplit(samples []repairSample) [5]float64 {
	var parts [5][]float64
	for _, s := range samples {
		if s.timed {
			toOp, toBench := s.legs()
			for i, v := range [5]float64{toOp, s.timing.queue, s.timing.plan(), s.timing.write, toBench} {
				parts[i] = append(parts[i], v)
			}
		}
	}
	var p50 [5]float64
	for i := range parts {
		slices.Sort(parts[i])
		p50[i] = percentile(parts[i], 0.5)
	}
	return p50
}
