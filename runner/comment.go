package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/fileread"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/prcomment"
)

// CommentOptions are the inputs of `llmcheck comment`.
type CommentOptions struct {
	OutDir string // where run/check wrote comment.md and results.json
	Mode   string // prcomment.Always or prcomment.OnFailure
	Key    string // one comment per key: the workflow and job

	API        string // $GITHUB_API_URL
	Token      string // $GITHUB_TOKEN
	Repository string // $GITHUB_REPOSITORY
	EventPath  string // $GITHUB_EVENT_PATH: the pull request's number
	RunURL     string // the workflow run, linked when the report is shortened
	Stderr     io.Writer
}

// Comment posts OUT/comment.md as the sticky comment of the pull request
// the workflow runs for. Outside a pull request it does nothing.
func Comment(ctx context.Context, o CommentOptions) error {
	if o.Mode != prcomment.Always && o.Mode != prcomment.OnFailure {
		return exitcode.Newf(exitcode.Usage, "--mode %q: expected always or on-failure", o.Mode)
	}
	number, err := pullRequest(o.EventPath)
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	if number == 0 {
		fmt.Fprintln(o.Stderr, "llmcheck: not a pull request event: no comment posted")
		return nil
	}
	if o.Token == "" {
		return exitcode.Newf(exitcode.Usage, "GITHUB_TOKEN is not set: give the step `env: GITHUB_TOKEN: ${{ github.token }}` and the job `permissions: pull-requests: write`")
	}
	if o.Repository == "" {
		return exitcode.Newf(exitcode.Usage, "GITHUB_REPOSITORY is not set (owner/name): llmcheck comment runs in GitHub Actions")
	}
	mdPath := filepath.Join(o.OutDir, CommentFile)
	md, err := fileread.ReadFile(mdPath, fileread.MaxBytes)
	if errors.Is(err, os.ErrNotExist) {
		return exitcode.Newf(exitcode.Usage, "%s does not exist: run llmcheck run or llmcheck check with --out %s first", mdPath, o.OutDir)
	}
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	failed := true
	if b, err := fileread.ReadFile(filepath.Join(o.OutDir, ResultsFile), fileread.MaxBytes); err == nil {
		var res struct{ Status string }
		if json.Unmarshal(b, &res) == nil {
			failed = res.Status != "pass"
		}
	}
	api := o.API
	if api == "" {
		api = "https://api.github.com"
	}
	out, url, err := prcomment.Post(ctx, prcomment.Options{
		API: api, Token: o.Token, Repository: o.Repository, Number: number,
		Key: o.Key, Body: string(md), Failed: failed, Mode: o.Mode, RunURL: o.RunURL,
	})
	if err != nil {
		return exitcode.Newf(exitcode.Usage, "pull-request comment: %v", err)
	}
	switch out {
	case prcomment.Skipped:
		fmt.Fprintf(o.Stderr, "llmcheck: the run passed and --mode is on-failure: no comment on pull request #%d\n", number)
	default:
		// the URL is the API's answer: escaped and clipped like span data
		fmt.Fprintf(o.Stderr, "llmcheck: %s the comment on pull request #%d: %s\n", out, number, safetext.Text(url))
	}
	return nil
}

// pullRequest reads the pull request's number from the event payload:
// pull_request.number (pull_request, pull_request_target events) or
// issue.number of a comment on a pull request; 0 for other events.
func pullRequest(eventPath string) (int, error) {
	if eventPath == "" {
		return 0, nil
	}
	b, err := fileread.ReadFile(eventPath, fileread.MaxBytes)
	if err != nil {
		return 0, fmt.Errorf("GITHUB_EVENT_PATH: %w", err)
	}
	var ev struct {
		PullRequest *struct {
			Number int `json:"number"`
		} `json:"pull_request"`
		Issue *struct {
			Number      int             `json:"number"`
			PullRequest json.RawMessage `json:"pull_request"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return 0, fmt.Errorf("GITHUB_EVENT_PATH %s: %w", eventPath, err)
	}
	switch {
	case ev.PullRequest != nil:
		return ev.PullRequest.Number, nil
	case ev.Issue != nil && len(ev.Issue.PullRequest) > 0:
		return ev.Issue.Number, nil
	}
	return 0, nil
}
