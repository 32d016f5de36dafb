package rag

import (
	"context"
	"errors"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/log/global"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultServiceName is the service.name used when OTEL_SERVICE_NAME is
// not set.
const DefaultServiceName = "ragdemo"

// SetupTracing installs a global tracer provider that exports spans over
// OTLP, when the standard environment asks for it: OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set and OTEL_TRACES_EXPORTER is
// not "none". The protocol comes from OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" uses gRPC, anything else (or nothing)
// HTTP/protobuf. The exporters read their endpoint, headers, compression
// and timeout from the same environment; spans are batched
// (OTEL_BSP_* apply). service.name is OTEL_SERVICE_NAME, default "ragdemo";
// OTEL_RESOURCE_ATTRIBUTES is honoured.
//
// Otherwise it does nothing and spans go to the default no-op provider.
// Call shutdown before exiting: it flushes the spans still batched.
func SetupTracing(ctx context.Context) (shutdown func(context.Context) error, err error) {
	tp, err := newTracerProvider(ctx)
	if err != nil || tp == nil {
		return func(context.Context) error { return nil }, err
	}
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// exporterProtocol says which exporter the environment asks for the
// signal ("traces" or "logs"): "grpc", "http", or "" for none. The
// per-signal variables (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
// OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, ...) come first, as the OpenTelemetry
// environment specification says.
func exporterProtocol(signal string) string {
	sig := strings.ToUpper(signal)
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_"+sig+"_EXPORTER")), "none") {
		return ""
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_"+sig+"_ENDPOINT") == "" {
		return ""
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_" + sig + "_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if strings.EqualFold(strings.TrimSpace(proto), "grpc") {
		return "grpc"
	}
	return "http"
}

// newTracerProvider builds the exporting provider, or returns nil when the
// environment asks for no export.
func newTracerProvider(ctx context.Context) (*sdktrace.TracerProvider, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch exporterProtocol("traces") {
	case "":
		return nil, nil
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, err
	}
	res, err := newResource(ctx)
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, err
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
	), nil
}

// newResource describes the process: service.name is OTEL_SERVICE_NAME,
// default DefaultServiceName; OTEL_RESOURCE_ATTRIBUTES is honoured.
func newResource(ctx context.Context) (*resource.Resource, error) {
	// Later options win: the default name, then the environment.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) && !errors.Is(err, resource.ErrSchemaURLConflict) {
		return nil, err
	}
	return res, nil
}

// SetupLogging installs a global logger provider (go.opentelemetry.io/otel/log/global)
// that exports log records over OTLP, for the judge's gen_ai.evaluation.result
// events, on the same terms as SetupTracing: OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set and OTEL_LOGS_EXPORTER is not
// "none"; the protocol comes from OTEL_EXPORTER_OTLP_LOGS_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL ("grpc", otherwise HTTP/protobuf). The
// exporters read their endpoint (HTTP appends /v1/logs), headers,
// compression and timeout from the same environment; records are batched
// (OTEL_BLRP_* apply). The resource is the tracer provider's.
//
// Otherwise it does nothing and records go to the default no-op provider.
// Call shutdown before exiting: it flushes the records still batched.
func SetupLogging(ctx context.Context) (shutdown func(context.Context) error, err error) {
	lp, err := newLoggerProvider(ctx)
	if err != nil || lp == nil {
		return func(context.Context) error { return nil }, err
	}
	global.SetLoggerProvider(lp)
	return lp.Shutdown, nil
}

// newLoggerProvider builds the exporting logger provider, or returns nil
// when the environment asks for no export.
func newLoggerProvider(ctx context.Context) (*sdklog.LoggerProvider, error) {
	var (
		exp sdklog.Exporter
		err error
	)
	switch exporterProtocol("logs") {
	case "":
		return nil, nil
	case "grpc":
		exp, err = otlploggrpc.New(ctx)
	default:
		exp, err = otlploghttp.New(ctx)
	}
	if err != nil {
		return nil, err
	}
	res, err := newResource(ctx)
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, err
	}
	return sdklog.NewLoggerProvider(
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)),
		sdklog.WithResource(res),
	), nil
}
