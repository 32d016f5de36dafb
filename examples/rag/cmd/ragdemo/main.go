// Command ragdemo answers questions with the example RAG app, has the fake
// judge score each answer's faithfulness, and exports the spans and the
// gen_ai.evaluation.result records over OTLP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set:
//
//	llmcheck run -- go run ./examples/rag/cmd/ragdemo
//	go run ./examples/rag/cmd/ragdemo "How do I reset my password?"
//
// With no arguments it asks every question of the built-in ground-truth
// table, in a stable order.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"time"

	"github.com/llmcheck/llmcheck/examples/rag"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ragdemo:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	shutdownTracing, err := rag.SetupTracing(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// Flush with a fresh context: ctx may be cancelled already.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := shutdownTracing(sctx); serr != nil && err == nil {
			err = fmt.Errorf("flushing spans: %w", serr)
		}
	}()
	shutdownLogging, err := rag.SetupLogging(ctx)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := shutdownLogging(sctx); serr != nil && err == nil {
			err = fmt.Errorf("flushing evaluation records: %w", serr)
		}
	}()
	var judge rag.Judge

	questions := os.Args[1:]
	if len(questions) == 0 {
		for q := range rag.GroundTruth {
			questions = append(questions, q)
		}
		sort.Strings(questions)
	}
	for _, q := range questions {
		res, err := rag.Answer(ctx, q)
		if err != nil {
			return fmt.Errorf("%q: %w", q, err)
		}
		ev := judge.Evaluate(ctx, res)
		fmt.Printf("Q: %s\nA: %s\n   (%s, %d docs, %d+%d tokens; %s %.2f, %s)\n", q, res.Answer, res.Model, len(res.Documents), res.Usage.InputTokens, res.Usage.OutputTokens, ev.Name, ev.Score, ev.Label)
	}
	return nil
}
