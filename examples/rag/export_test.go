package rag

// Internals for the external tests.
var (
	ExporterProtocol  = exporterProtocol
	NewTracerProvider = newTracerProvider
)
