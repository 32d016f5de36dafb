package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// collector runs the OpenTelemetry Collector's otlpreceiver feeding its
// fileexporter (format json, as `llmcheck record` writes), in process,
// until SIGINT: the Collector's own pipeline, without the service
// wrapper (no processors: the receiver calls the exporter directly, as a
// pipeline with only these two components does).
//
//	llmbench collector GRPC_ADDR HTTP_ADDR OUT
func collector(grpcAddr, httpAddr, out string) error {
	ctx := context.Background()
	host := componenttest.NewNopHost()

	ef := fileexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*fileexporter.Config)
	ecfg.Path = out
	ecfg.FormatType = "json"
	ecfg.Rotation = nil // the default rotates at 100 MB into backup files
	ecfg.GroupBy = nil
	exp, err := ef.CreateTraces(ctx, exportertest.NewNopSettings(component.MustNewType("file")), ecfg)
	if err != nil {
		return err
	}
	if err := exp.Start(ctx, host); err != nil {
		return err
	}

	rf := otlpreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig().(*otlpreceiver.Config)
	g := configgrpc.NewDefaultServerConfig()
	g.NetAddr.Endpoint = grpcAddr
	g.ReadBufferSize = 524288
	rcfg.Protocols.GRPC = configoptional.Some(g)
	h := otlpreceiver.HTTPConfig{
		ServerConfig:   confighttp.NewDefaultServerConfig(),
		TracesURLPath:  "/v1/traces",
		MetricsURLPath: "/v1/metrics",
		LogsURLPath:    "/v1/logs",
	}
	h.ServerConfig.NetAddr.Endpoint = httpAddr
	rcfg.Protocols.HTTP = configoptional.Some(h)
	rcv, err := rf.CreateTraces(ctx, receivertest.NewNopSettings(component.MustNewType("otlp")), rcfg, exp)
	if err != nil {
		return err
	}
	if err := rcv.Start(ctx, host); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "collector: otlp grpc %s http %s -> file %s\n", grpcAddr, httpAddr, out)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if err := rcv.Shutdown(ctx); err != nil {
		return err
	}
	return exp.Shutdown(ctx)
}
