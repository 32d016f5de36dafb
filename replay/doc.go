// Package replay owns llmcheck's recorded trace files: it writes OTLP JSON
// lines as spans arrive, reads every trace file format llmcheck accepts
// (JSON lines, a single JSON document, length-prefixed protobuf, each
// optionally gzipped) and re-sends recorded batches to an OTLP endpoint.
package replay
