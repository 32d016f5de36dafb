package cmd

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/llmcheck/llmcheck/prcomment"
	"github.com/llmcheck/llmcheck/runner"
)

func newCommentCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "comment [--mode always|on-failure]",
		Short: "Post the run's report as one sticky pull-request comment (GitHub Actions)",
		Long: `Comment posts OUT/comment.md — the report of the last llmcheck run or check,
sized for a comment — on the pull request the workflow runs for, and
updates that same comment on every later run of the job instead of adding
new ones (it is found by a hidden marker naming the workflow and job).

--mode always posts on every run; on-failure posts only when the run did
not pass, and still updates an earlier comment once the run passes, so a
stale failure never stays on the pull request. Outside a pull-request
event it does nothing.

It reads GITHUB_TOKEN (the job needs permissions: pull-requests: write),
GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_API_URL, GITHUB_WORKFLOW,
GITHUB_JOB, GITHUB_SERVER_URL and GITHUB_RUN_ID, which GitHub Actions sets.
The action (action.yml) runs it when its comment input is always or
on-failure.`,
		Example: `  llmcheck run -- go test ./... ; llmcheck comment --mode on-failure`,
		Args:    cobra.NoArgs,
	}
	fs := c.Flags()
	fs.String("out", ".llmcheck", "output folder of the run (comment.md, results.json)")
	fs.String("mode", prcomment.Always, "always, or on-failure")
	fs.String("key", "", "one comment per key on a pull request (default: $GITHUB_WORKFLOW/$GITHUB_JOB)")
	c.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		key := v.GetString("key")
		if key == "" {
			key = os.Getenv("GITHUB_WORKFLOW") + "/" + os.Getenv("GITHUB_JOB")
		}
		runURL := ""
		if srv, repo, id := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID"); srv != "" && repo != "" && id != "" {
			runURL = srv + "/" + repo + "/actions/runs/" + id
		}
		return runner.Comment(c.Context(), runner.CommentOptions{
			OutDir:     v.GetString("out"),
			Mode:       v.GetString("mode"),
			Key:        key,
			API:        os.Getenv("GITHUB_API_URL"),
			Token:      os.Getenv("GITHUB_TOKEN"),
			Repository: os.Getenv("GITHUB_REPOSITORY"),
			EventPath:  os.Getenv("GITHUB_EVENT_PATH"),
			RunURL:     runURL,
			Stderr:     s.err,
		})
	}
	return c
}
