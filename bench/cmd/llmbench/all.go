package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measurement is the median of several runs of one command.
type measurement struct {
	secs []float64
	rss  []int64
	cpus []float64
}

func (m *measurement) add(s float64, rss int64) {
	m.secs = append(m.secs, s)
	m.rss = append(m.rss, rss)
}

func (m *measurement) addCPU(s float64) { m.cpus = append(m.cpus, s) }

func (m measurement) median() float64 { return median(m.secs) }
func (m measurement) cpu() float64    { return median(m.cpus) }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func (m measurement) maxRSS() int64 { return slices.Max(m.rss) }

// runPhase runs `llmbench phase NAME ARGS` in a new process and adds its
// wall time, peak RSS and CPU time to m.
func runPhase(m *measurement, self, name string, args ...string) error {
	out, err := exec.Command(self, append([]string{"phase", name}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return fmt.Errorf("phase %s %v: %v: %s", name, args, err, ee.Stderr)
		}
		return err
	}
	var secs, cpu float64
	var n, rss int64
	if _, err := fmt.Sscan(string(out), &secs, &n, &rss, &cpu); err != nil {
		return fmt.Errorf("phase %s: %q: %v", name, out, err)
	}
	m.add(secs, rss)
	m.addCPU(cpu)
	return nil
}

// runCmd times a command, returning its wall time and peak RSS.
func runCmd(dir string, name string, args ...string) (float64, int64, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	t0 := time.Now()
	err := c.Run()
	d := time.Since(t0).Seconds()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return 0, 0, err
		}
	}
	ru, _ := c.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss * 1024
	}
	return d, rss, nil
}

// all generates the data sets, runs every comparison and prints the
// tables of docs/performance.md.
func all(args []string) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	dir := fs.String("dir", filepath.Join(os.TempDir(), "llmbench"), "where the data sets are written")
	llmcheck := fs.String("llmcheck", "", "llmcheck binary (built from the repository root)")
	reps := fs.Int("reps", 3, "runs per measurement (the median is reported)")
	big := fs.Int("spans", 1_000_000, "spans of the big run")
	skipIngest := fs.Bool("no-ingest", false, "skip the ingest comparison")
	ingestSpans := fs.Int("ingest-spans", 1_000_000, "spans sent in the ingest comparison")
	before := fs.String("before", "", "an llmbench built against the code before the change, for before/after rows")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sizes := []int{10_000, 100_000, *big}
	fmt.Fprintf(os.Stderr, "generating %v spans in %s\n", sizes, *dir)
	for _, n := range append([]int{1000}, sizes...) {
		if err := genFiles(*dir, n); err != nil {
			return err
		}
	}
	cfg := filepath.Join(*dir, "llmcheck.yaml")
	file := func(n int, ext string) string { return filepath.Join(*dir, fmt.Sprintf("spans-%d.%s", n, ext)) }

	fmt.Printf("## Read path, %d spans (median of %d, one process each)\n\n", *big, *reps)
	fmt.Printf("machine: %d cores (GOMAXPROCS), %s, %s\n\n", runtime.NumCPU(), cpuModel(), runtime.Version())
	type row struct {
		label, phase, ext string
		before            bool // measured with the -before binary
	}
	rows := []row{
		{"ptrace.JSONUnmarshaler alone, 1 goroutine (reference)", "pdata-json", "jsonl", false},
		{"Read + FromTracesWarn (runner.LoadRun today)", "load", "jsonl", false},
		{"replay.LoadSpans (fast path, all cores)", "loadspans", "jsonl", false},
		{"ptrace.ProtoUnmarshaler alone, 1 goroutine (reference)", "pdata-proto", "pb", false},
		{"Read + FromTracesWarn (runner.LoadRun today)", "load", "pb", false},
		{"replay.LoadSpans (fast path, all cores)", "loadspans", "pb", false},
	}
	if *before != "" {
		rows = append(rows,
			row{"before: Read + FromTracesWarn (runner.LoadRun)", "load", "jsonl", true},
			row{"before: Read + FromTracesWarn (runner.LoadRun)", "load", "pb", true})
	}
	res := make([]measurement, len(rows))
	for r := 0; r < *reps; r++ {
		for i, rw := range rows { // interleaved, so drift hits every row alike
			bin := self
			if rw.before {
				bin = *before
			}
			if err := runPhase(&res[i], bin, rw.phase, file(*big, rw.ext)); err != nil {
				return err
			}
		}
	}
	fmt.Println("| input | what | wall (s) | × decoder alone (wall) | CPU (s) | × decoder alone (CPU) | peak RSS (MiB) |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for i, rw := range rows {
		ref := res[0]
		if rw.ext == "pb" {
			ref = res[3]
		}
		fmt.Printf("| %s | %s | %.2f | %.2f | %.2f | %.2f | %.0f |\n", rw.ext, rw.label, res[i].median(), res[i].median()/ref.median(),
			res[i].cpu(), res[i].cpu()/ref.cpu(), float64(res[i].maxRSS())/(1<<20))
	}

	fmt.Printf("\n## check, %d spans, 10 assertions (median of %d)\n\n", *big, *reps)
	crows := []row{
		{label: "check, LoadRun today (in process: load config + read + evaluate)", phase: "check", ext: "jsonl"},
		{label: "check with replay.LoadSpans (in process)", phase: "check-loadspans", ext: "jsonl"},
		{label: "check, LoadRun today (in process)", phase: "check", ext: "pb"},
		{label: "check with replay.LoadSpans (in process)", phase: "check-loadspans", ext: "pb"},
	}
	if *before != "" {
		crows = append(crows,
			row{label: "before: check, original code (in process)", phase: "check", ext: "jsonl", before: true},
			row{label: "before: check, original code (in process)", phase: "check", ext: "pb", before: true})
	}
	nPhases := len(crows)
	cres := make([]measurement, len(crows)+2)
	for r := 0; r < *reps; r++ {
		for i, rw := range crows[:nPhases] {
			bin := self
			if rw.before {
				bin = *before
			}
			if err := runPhase(&cres[i], bin, rw.phase, file(*big, rw.ext), cfg); err != nil {
				return err
			}
		}
		if *llmcheck != "" {
			for i, ext := range []string{"jsonl", "pb"} {
				s, rss, err := runCmd(*dir, *llmcheck, "check", "--config", cfg, "--out", filepath.Join(*dir, "out-"+ext), file(*big, ext))
				if err != nil {
					return err
				}
				cres[nPhases+i].add(s, rss)
			}
		}
	}
	if *llmcheck != "" {
		crows = append(crows, row{label: "`llmcheck check` binary (reports too)", ext: "jsonl"}, row{label: "`llmcheck check` binary (reports too)", ext: "pb"})
	}
	fmt.Println("| input | what | wall (s) | × decoder alone | target ≤ 0.6× | peak RSS (MiB) | target ≤ 1024 |")
	fmt.Println("|---|---|---:|---:|---|---:|---|")
	for i, rw := range crows {
		ref := res[0].median()
		if rw.ext == "pb" {
			ref = res[3].median()
		}
		ratio := cres[i].median() / ref
		rss := float64(cres[i].maxRSS()) / (1 << 20)
		fmt.Printf("| %s | %s | %.2f | %.2f | %s | %.0f | %s |\n", rw.ext, rw.label, cres[i].median(), ratio, met(ratio <= 0.6), rss, met(rss <= 1024))
	}

	fmt.Printf("\n## Growth: check with replay.LoadSpans, JSON lines (median of %d)\n\n", *reps)
	fmt.Println("| spans | wall (s) | µs per span | vs linear from 10k |")
	fmt.Println("|---:|---:|---:|---:|")
	var per10k float64
	for _, n := range sizes {
		var m measurement
		for r := 0; r < *reps; r++ {
			if err := runPhase(&m, self, "check-loadspans", file(n, "jsonl"), cfg); err != nil {
				return err
			}
		}
		us := m.median() / float64(n) * 1e6
		if per10k == 0 {
			per10k = us
		}
		fmt.Printf("| %d | %.3f | %.2f | %+.0f %% |\n", n, m.median(), us, (us/per10k-1)*100)
	}

	if *llmcheck != "" {
		fmt.Printf("\n## Small runs (median of 15)\n\n")
		tmp, err := os.MkdirTemp("", "llmbench-small")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		small := []struct {
			label  string
			target string
			cmd    []string
		}{
			{"`true`", "", []string{"true"}},
			{"`llmcheck --help`", "", []string{*llmcheck, "--help"}},
			{"`llmcheck run -- true`", "≤ `true` + 150 ms", []string{*llmcheck, "run", "--out", filepath.Join(tmp, "run"), "--", "true"}},
			{"`llmcheck check` 1,000 spans", "< 100 ms", []string{*llmcheck, "check", "--config", cfg, "--out", filepath.Join(tmp, "check"), file(1000, "jsonl")}},
		}
		fmt.Println("| command | wall (ms) | target |")
		fmt.Println("|---|---:|---|")
		var trueMS float64
		for i, c := range small {
			var m measurement
			for range 15 {
				s, rss, err := runCmd(tmp, c.cmd[0], c.cmd[1:]...)
				if err != nil {
					return err
				}
				m.add(s, rss)
			}
			ms := m.median() * 1000
			verdict := ""
			switch i {
			case 0:
				trueMS = ms
			case 2:
				verdict = c.target + ": " + met(ms-trueMS <= 150)
			case 3:
				verdict = c.target + ": " + met(ms < 100)
			}
			fmt.Printf("| %s | %.1f | %s |\n", c.label, ms, verdict)
		}
	}

	if *llmcheck != "" && !*skipIngest {
		fmt.Printf("\n## Ingest: %d spans, 4 OTel Go SDK processes, batches of 512 (median of %d)\n\n", *ingestSpans, *reps)
		fmt.Println("| receiver | protocol | acknowledged | on disk | wall (s) | spans/s | receiver CPU (s) | receiver peak RSS (MiB) |")
		fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|")
		type key struct{ p, sys string }
		runs := map[key][]ingestResult{}
		for range *reps {
			for _, p := range []string{"grpc", "http"} {
				for _, sys := range []string{"llmcheck", "collector"} {
					r, err := ingest(self, *llmcheck, sys, p, *dir, *ingestSpans, 4)
					if err != nil {
						return err
					}
					runs[key{p, sys}] = append(runs[key{p, sys}], r)
				}
			}
		}
		for _, p := range []string{"grpc", "http"} {
			for _, sys := range []string{"llmcheck", "collector"} {
				rs := runs[key{p, sys}]
				var walls, cpus []float64
				r := rs[0]
				for _, x := range rs {
					walls = append(walls, x.wall)
					cpus = append(cpus, x.cpu)
					r.spans, r.onDisk = min(r.spans, x.spans), min(r.onDisk, x.onDisk)
					r.failed = max(r.failed, x.failed)
					r.rss = max(r.rss, x.rss)
					if x.onDisk != x.spans {
						r.onDisk = x.onDisk // show a run that lost spans
					}
				}
				r.wall, r.cpu = median(walls), median(cpus)
				name := "`llmcheck record`"
				if sys == "collector" {
					name = "Collector otlpreceiver → fileexporter"
				}
				proto := "OTLP/gRPC"
				if p == "http" {
					proto = "OTLP/HTTP protobuf"
				}
				fmt.Printf("| %s | %s | %d | %d | %.2f | %.0f | %.2f | %.0f |\n", name, proto, r.spans, r.onDisk, r.wall, float64(r.spans)/r.wall, r.cpu, float64(r.rss)/(1<<20))
			}
		}
	}
	return nil
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

var _ = strconv.Itoa
