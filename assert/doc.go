// Package assert owns llmcheck.yaml: parsing it with positions kept,
// compiling every CEL expression once (type-checked, bool-valued, errors
// pointing into the file), computing the statistics expressions read
// (latency percentiles, token and cost sums, retrieval metrics) in Go over
// the span model, and evaluating assertions and regression rules into
// results with observed values and the worst offending spans — over the
// whole run, or per trace, conversation, test or expression value
// (each:, groups.go), with agent trajectories (trace.tools,
// trajectory.go).
package assert
