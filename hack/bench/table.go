package main

import (
	"fmt"
	"strings"
	"time"
)

// results are the measured samples of the four commands.
type results struct {
	floor, audit, dump, score, raw []sample
	decode                         []sample // the decode floor: no target
	floorBytes                     int64    // size of the floor's JSON
	labels                         [6]string
	runs                           int
	extra                          []target // counted requests, one workload
}

// target is a row of the table below the commands: a figure with its
// bound, pass nil when it has none.
type target struct {
	text string
	pass *bool
}

func (r results) ratioRaw() float64 {
	return medianWall(r.audit).Seconds() / medianWall(r.raw).Seconds()
}

func (r results) ratioFloor() float64 {
	return medianWall(r.audit).Seconds() / medianWall(r.floor).Seconds()
}

func (r results) ratioPeer() float64 {
	return medianWall(r.audit).Seconds() / medianWall(sum(r.dump, r.score)).Seconds()
}

func (r results) ratioRSS() float64 {
	return float64(peakRSS(r.audit)) / float64(r.floorBytes)
}

// ok says whether every target is met.
func (r results) ok() bool {
	ok := r.ratioFloor() <= floorTarget && r.ratioPeer() < 1 && r.ratioRSS() <= rssTarget && r.ratioRaw() <= rawTarget
	for _, t := range r.extra {
		ok = ok && (t.pass == nil || *t.pass)
	}
	return ok
}

// table renders one Markdown table: each command's median wall time, its
// peak RSS and its wall time over the floor's, then the targets.
func (r results) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| command | wall (median of %d) | peak RSS | wall ÷ floor | target | result |\n", r.runs)
	b.WriteString("|---|---:|---:|---:|---|---|\n")
	floor := medianWall(r.floor)
	row := func(label string, s []sample, target string, pass *bool) {
		res := ""
		if pass != nil {
			res = verdict(*pass)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f× | %s | %s |\n", label, seconds(medianWall(s)), mib(peakRSS(s)),
			medianWall(s).Seconds()/floor.Seconds(), target, res)
	}
	target := func(what string, ratio float64, bound string, pass bool) {
		fmt.Fprintf(&b, "| | | | | %s: %.2f× (%s) | %s |\n", what, ratio, bound, verdict(pass))
	}
	row(r.labels[0]+fmt.Sprintf(" → %s of JSON", mib(r.floorBytes)), r.floor, "", nil)
	row(r.labels[4], r.raw, "", nil)
	row(r.labels[5], r.decode, "", nil)
	row(r.labels[2], r.dump, "", nil)
	row(r.labels[3], r.score, "", nil)
	row("dump + kube-score", sum(r.dump, r.score), "", nil)
	rf, rp, rr := r.ratioFloor(), r.ratioPeer(), r.ratioRSS()
	row(r.labels[1], r.audit, fmt.Sprintf("wall ÷ floor ≤ %.2f×", floorTarget), ref(rf <= floorTarget))
	ra := r.ratioRaw()
	target("wall ÷ raw floor", ra, fmt.Sprintf("≤ %.2f×", rawTarget), ra <= rawTarget)
	fmt.Fprintf(&b, "| | | | | wall ÷ decode floor: %.2f× (no target) | |\n", medianWall(r.audit).Seconds()/medianWall(r.decode).Seconds())
	target("wall ÷ (dump + kube-score)", rp, "< 1.00×", rp < 1)
	target("peak RSS ÷ floor JSON", rr, fmt.Sprintf("≤ %.2f×", rssTarget), rr <= rssTarget)
	for _, t := range r.extra {
		res := ""
		if t.pass != nil {
			res = verdict(*t.pass)
		}
		fmt.Fprintf(&b, "| | | | | %s | %s |\n", t.text, res)
	}
	return b.String()
}

func verdict(pass bool) string {
	if pass {
		return "pass"
	}
	return "FAIL"
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func ref[T any](v T) *T { return &v }
