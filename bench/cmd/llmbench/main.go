// Command llmbench generates llmcheck's benchmark data sets and runs the
// comparisons of docs/performance.md. Each measured phase runs in its own
// process so that its peak RSS is its own.
//
//	llmbench gen DIR N...              write DIR/spans-N.jsonl and .pb
//	llmbench phase NAME FILE [CONFIG]  run one phase once; prints "seconds spans maxrss-bytes"
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/llmcheck/llmcheck/internal/benchdata"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "llmbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: llmbench gen|phase|all ...")
	}
	switch args[0] {
	case "gen":
		dir := args[1]
		for _, a := range args[2:] {
			n, err := strconv.Atoi(a)
			if err != nil {
				return err
			}
			if err := genFiles(dir, n); err != nil {
				return err
			}
		}
		return nil
	case "phase":
		return phase(args[1], args[2:])
	case "loadproc":
		n, _ := strconv.Atoi(args[3])
		p, _ := strconv.Atoi(args[4])
		return loadProc(args[1], args[2], n, p)
	case "ingest":
		// llmbench ingest LLMCHECK_BIN SYSTEM PROTOCOL DIR SPANS PROCS
		self, _ := os.Executable()
		n, _ := strconv.Atoi(args[5])
		procs, _ := strconv.Atoi(args[6])
		r, err := ingest(self, args[1], args[2], args[3], args[4], n, procs)
		if err != nil {
			return err
		}
		fmt.Printf("%s %s acked=%d failed=%d disk=%d wall=%.3fs rate=%.0f/s cpu=%.2fs rss=%.0fMiB\n",
			r.system, r.protocol, r.spans, r.failed, r.onDisk, r.wall, float64(r.spans)/r.wall, r.cpu, float64(r.rss)/(1<<20))
		return nil
	case "collector":
		return collector(args[1], args[2], args[3])
	case "all":
		return all(args[1:])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func genFiles(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js := filepath.Join(dir, fmt.Sprintf("spans-%d.jsonl", n))
	pb := filepath.Join(dir, fmt.Sprintf("spans-%d.pb", n))
	if _, err := os.Stat(js); err != nil {
		if err := benchdata.WriteJSON(js, n); err != nil {
			return err
		}
	}
	if _, err := os.Stat(pb); err != nil {
		if err := benchdata.WriteProto(pb, n); err != nil {
			return err
		}
	}
	cfg := filepath.Join(dir, "llmcheck.yaml")
	return os.WriteFile(cfg, []byte(benchdata.Config), 0o644)
}

func phase(name string, args []string) error {
	if p := os.Getenv("LLMBENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	var n int
	var err error
	switch name {
	case "pdata-json":
		n, err = pdataJSON(args[0])
	case "pdata-proto":
		n, err = pdataProto(args[0])
	case "span-json":
		n, err = spanJSON(args[0])
	case "load":
		n, err = load(args[0])
	case "check":
		n, err = check(args[0], args[1])
	case "diff":
		n, err = compare(args[0], args[1])
	default:
		return fmt.Errorf("unknown phase %q", name)
	}
	if err != nil {
		return err
	}
	d := time.Since(t0)
	if p := os.Getenv("LLMBENCH_MEMPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("%.4f %d %d %.4f\n", d.Seconds(), n, ru.Maxrss*1024, cpu.Seconds())
	return nil
}
