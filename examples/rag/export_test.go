package rag

// Internals for the external tests.
var (
	ExporterProtocol  = func() string { return exporterProtocol("traces") }
	LogsProtocol      = func() string { return exporterProtocol("logs") }
	NewTracerProvider = newTracerProvider
	NewLoggerProvider = newLoggerProvider
)
