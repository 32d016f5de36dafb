// Package jaegertest starts a real Jaeger v2 (in-memory storage, its OTLP
// receiver and query service on free loopback ports) for llmcheck's tests.
// The binary is built from the tools/jaeger module and named by
// LLMCHECK_JAEGER; without it the tests skip, saying how to build it,
// unless LLMCHECK_REQUIRE_JAEGER=1 (set by .ci/run) makes that a failure.
package jaegertest

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

//go:embed jaeger.yaml
var config []byte

// BuildHint says how to get the binary.
const BuildHint = "build Jaeger once with `go build -modfile=tools/jaeger/go.mod -o /tmp/jaeger github.com/jaegertracing/jaeger/cmd/jaeger` and set LLMCHECK_JAEGER=/tmp/jaeger"

// Jaeger is a running Jaeger.
type Jaeger struct {
	QueryURL string // http://127.0.0.1:PORT, the query service (v3 API)
	OTLPHTTP string // http://127.0.0.1:PORT, the OTLP/HTTP receiver
	OTLPGRPC string // 127.0.0.1:PORT, the OTLP/gRPC receiver
	cmd      *exec.Cmd
	done     chan error
}

// Binary returns the Jaeger binary named by LLMCHECK_JAEGER, or "" and why
// not.
func Binary() (string, error) {
	bin := os.Getenv("LLMCHECK_JAEGER")
	if bin == "" {
		return "", errors.New("LLMCHECK_JAEGER is not set: " + BuildHint)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("LLMCHECK_JAEGER=%s: %v; %s", bin, err, BuildHint)
	}
	return bin, nil
}

// Required reports whether a missing Jaeger is a failure (CI).
func Required() bool { return os.Getenv("LLMCHECK_REQUIRE_JAEGER") == "1" }

// Start starts Jaeger for a test and stops it when the test ends; it
// skips the test when there is no binary (fails under
// LLMCHECK_REQUIRE_JAEGER=1).
func Start(tb testing.TB, maxTraces int) *Jaeger {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		if Required() {
			tb.Fatalf("LLMCHECK_REQUIRE_JAEGER=1: %v", err)
		}
		tb.Skip(err)
	}
	j, err := StartBinary(bin, tb.TempDir(), maxTraces, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(j.Stop)
	return j
}

// StartBinary starts the Jaeger binary bin with its config in dir and
// waits until its query service answers. Its log goes to logw.
func StartBinary(bin, dir string, maxTraces int, logw io.Writer) (*Jaeger, error) {
	cfg := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfg, config, 0o644); err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Env = append(os.Environ(),
		"JAEGER_MAX_TRACES="+strconv.Itoa(maxTraces),
		"JAEGER_QUERY_PORT="+strconv.Itoa(ports[0]),
		"JAEGER_QUERY_GRPC_PORT="+strconv.Itoa(ports[1]),
		"JAEGER_OTLP_GRPC_PORT="+strconv.Itoa(ports[2]),
		"JAEGER_OTLP_HTTP_PORT="+strconv.Itoa(ports[3]),
		// Jaeger traces itself with the OpenTelemetry SDK: not here.
		"OTEL_SDK_DISABLED=true", "OTEL_TRACES_EXPORTER=none",
	)
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start jaeger %s: %w", bin, err)
	}
	j := &Jaeger{
		QueryURL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		OTLPGRPC: fmt.Sprintf("127.0.0.1:%d", ports[2]),
		OTLPHTTP: fmt.Sprintf("http://127.0.0.1:%d", ports[3]),
		cmd:      cmd,
		done:     make(chan error, 1),
	}
	go func() { j.done <- cmd.Wait() }()
	// Ready when the query service answers and the OTLP receiver accepts
	// connections (the receiver starts after the extensions).
	for i := 0; i < 600; i++ {
		select {
		case err := <-j.done:
			return nil, fmt.Errorf("jaeger exited before it was ready: %v", err)
		default:
		}
		resp, err := http.Get(j.QueryURL + "/api/v3/services")
		if err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", j.OTLPGRPC); err == nil {
				c.Close()
				if c, err := net.Dial("tcp", j.OTLPHTTP[len("http://"):]); err == nil {
					c.Close()
					return j, nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	j.Stop()
	return nil, errors.New("jaeger did not become ready within 30 s")
}

// Stop stops Jaeger.
func (j *Jaeger) Stop() {
	if j.cmd.Process == nil {
		return
	}
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.done:
	case <-time.After(10 * time.Second):
		_ = j.cmd.Process.Kill()
		<-j.done
	}
	j.done <- nil // a second Stop returns at once
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
