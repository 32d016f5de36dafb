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
	d, rss, _, err := runCmdCPU(dir, name, args...)
	return d, rss, err
}

// runCmdCPU is runCmd, also returning the command's CPU time (user +
// system).
func runCmdCPU(dir string, name string, args ...string) (float64, int64, float64, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	t0 := time.Now()
	err := c.Run()
	d := time.Since(t0).Seconds()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return 0, 0, 0, err
		}
	}
	ru, _ := c.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss * 1024
	}
	cpu := (c.ProcessState.UserTime() + c.ProcessState.SystemTime()).Seconds()
	return d, rss, cpu, nil
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

	if *llmcheck == "" {
		return fmt.Errorf("-llmcheck is required (bench/run.sh builds it)")
	}
	fmt.Printf("machine: %d cores (GOMAXPROCS), %s, %s\n\n", runtime.NumCPU(), cpuModel(), runtime.Version())

	// One table: the reference decoders, llmcheck's read path, the check in
	// process and the real binary, on both formats, interleaved.
	fmt.Printf("## Read and check, %d spans, 10 assertions (median of %d, one process each)\n\n", *big, *reps)
	type row struct {
		label, ext string
		phase      string   // an llmbench phase, or empty for the binary
		args       []string // after the trace file
		bin        string   // llmbench binary (the -before one for before rows)
		target     bool     // a check row: the 0.6× and 1 GiB targets apply
	}
	var rows []row
	for _, ext := range []string{"jsonl", "pb"} {
		ref := "ptrace.JSONUnmarshaler alone, 1 goroutine (reference)"
		refPhase := "pdata-json"
		if ext == "pb" {
			ref, refPhase = "ptrace.ProtoUnmarshaler alone, 1 goroutine (reference)", "pdata-proto"
		}
		rows = append(rows,
			row{label: ref, ext: ext, phase: refPhase, bin: self},
			row{label: "runner.LoadRun: read into the span model (all cores)", ext: ext, phase: "load", bin: self},
			row{label: "check in process: load config + read + evaluate", ext: ext, phase: "check", args: []string{cfg}, bin: self, target: true},
			row{label: "`llmcheck check` binary (+ results.json, junit.xml, report.md)", ext: ext, target: true},
		)
		if *before != "" {
			rows = append(rows,
				row{label: "before: runner.LoadRun", ext: ext, phase: "load", bin: *before},
				row{label: "before: check in process", ext: ext, phase: "check", args: []string{cfg}, bin: *before, target: true})
		}
	}
	res := make([]measurement, len(rows))
	for r := 0; r < *reps; r++ {
		for i, rw := range rows { // interleaved, so drift hits every row alike
			if rw.phase == "" {
				s, rss, cpu, err := runCmdCPU(*dir, *llmcheck, "check", "--quiet", "--config", cfg, "--out", filepath.Join(*dir, "out-"+rw.ext), file(*big, rw.ext))
				if err != nil {
					return err
				}
				res[i].add(s, rss)
				res[i].addCPU(cpu)
				continue
			}
			if err := runPhase(&res[i], rw.bin, rw.phase, append([]string{file(*big, rw.ext)}, rw.args...)...); err != nil {
				return err
			}
		}
	}
	fmt.Println("| input | what | wall (s) | × reference (wall) | CPU (s) | peak RSS (MiB) | ≤ 0.6× reference | ≤ 1024 MiB |")
	fmt.Println("|---|---|---:|---:|---:|---:|---|---|")
	var ref measurement
	for i, rw := range rows {
		if strings.HasPrefix(rw.phase, "pdata-") {
			ref = res[i]
		}
		ratio := res[i].median() / ref.median()
		rss := float64(res[i].maxRSS()) / (1 << 20)
		cpu := fmt.Sprintf("%.2f", res[i].cpu())
		t1, t2 := "", ""
		if rw.target {
			t1, t2 = met(ratio <= 0.6), met(rss <= 1024)
		}
		fmt.Printf("| %s | %s | %.2f | %.2f | %s | %.0f | %s | %s |\n", rw.ext, rw.label, res[i].median(), ratio, cpu, rss, t1, t2)
	}

	fmt.Printf("\n## Growth, JSON lines, in process (median of %d)\n\n", *reps)
	fmt.Println("check = load config + read + evaluate; diff = read both sides (the same file) + compare.")
	fmt.Println()
	fmt.Println("| spans | check (s) | check µs/span | vs linear from 10k | diff (s) | diff µs/span | vs linear from 10k |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|")
	var c10k, d10k float64
	for _, n := range sizes {
		var c, d measurement
		for r := 0; r < *reps; r++ {
			if err := runPhase(&c, self, "check", file(n, "jsonl"), cfg); err != nil {
				return err
			}
			if err := runPhase(&d, self, "diff", file(n, "jsonl"), file(n, "jsonl")); err != nil {
				return err
			}
		}
		cu, du := c.median()/float64(n)*1e6, d.median()/float64(n)*1e6
		if c10k == 0 {
			c10k, d10k = cu, du
		}
		fmt.Printf("| %d | %.3f | %.2f | %+.0f %% | %.3f | %.2f | %+.0f %% |\n", n, c.median(), cu, (cu/c10k-1)*100, d.median(), du, (du/d10k-1)*100)
	}

	{
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

	if !*skipIngest {
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
