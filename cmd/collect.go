package cmd

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/llmcheck/llmcheck/runner"
)

// collectFlags adds run's end-to-end mode flags (--collect-from).
func collectFlags(fs *pflag.FlagSet) {
	fs.String("collect-from", "", "after the run, add the spans a trace store (KIND=URL, e.g. jaeger=http://localhost:16686) holds of the recorded traces: the deployed services' spans")
	fs.Duration("collect-settle", runner.DefaultCollectSettle, "a trace is complete in the store once its span count has not changed for this long")
	fs.Duration("collect-timeout", runner.DefaultCollectTimeout, "wait at most this long for the traces to be complete in the store; the incomplete ones are reported by id")
	fs.StringArray("collect-header", nil, "request header key=value for the store, e.g. Authorization=Bearer TOKEN (repeatable)")
}

// collectOptions reads the flags of collectFlags: nil without --collect-from.
func collectOptions(c *cobra.Command) (*runner.CollectOptions, error) {
	f := c.Flags()
	from, _ := f.GetString("collect-from")
	if from == "" {
		return nil, nil
	}
	headers, err := keyValues("--collect-header", f, "collect-header")
	if err != nil {
		return nil, err
	}
	settle, _ := f.GetDuration("collect-settle")
	timeout, _ := f.GetDuration("collect-timeout")
	return &runner.CollectOptions{From: from, Headers: headers, Settle: settle, Timeout: timeout}, nil
}
