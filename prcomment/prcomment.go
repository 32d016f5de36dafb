// Package prcomment keeps llmcheck's report as one sticky comment on a
// pull request: it finds the comment it wrote before for the same workflow
// job (by a hidden marker) and updates it, or creates it, through the
// GitHub REST API.
package prcomment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxChars is GitHub's limit on a comment body, in characters.
const MaxChars = 65536

// Modes of posting.
const (
	Always    = "always"     // create or update the comment on every run
	OnFailure = "on-failure" // create it only when the run failed; update an existing one always
)

// Options say what to post where.
type Options struct {
	API        string // REST API root, e.g. https://api.github.com
	Token      string // a token with pull-requests: write
	Repository string // owner/name
	Number     int    // the pull request's number
	// Key identifies the comment among llmcheck's comments on the pull
	// request: one comment per workflow job (workflow/job).
	Key    string
	Body   string // Markdown
	Failed bool   // the run did not pass
	Mode   string // Always or OnFailure
	// RunURL links to the full report when the body had to be shortened.
	RunURL string
	Client *http.Client
}

// Outcome is what Post did.
type Outcome string

const (
	Created Outcome = "created"
	Updated Outcome = "updated"
	Skipped Outcome = "skipped" // on-failure, the run passed and there was no comment to update
)

// Marker is the hidden first line that identifies the comment of key.
func Marker(key string) string {
	return "<!-- llmcheck-comment: " + markerKey.ReplaceAllString(key, "_") + " -->"
}

var markerKey = regexp.MustCompile(`[^A-Za-z0-9._/ ()-]|--`)

// Body is the comment's text: the marker, then md, shortened at a block
// boundary (never inside a table or code block) so the whole stays under
// MaxChars, with a note pointing at the full report.
func Body(key, md, runURL string) string {
	head := Marker(key) + "\n"
	md = strings.ToValidUTF8(md, "\uFFFD")
	if utf8.RuneCountInString(head)+utf8.RuneCountInString(md) <= MaxChars {
		return head + md
	}
	note := "\n_The report is longer than a comment can hold; the full report is in the job summary"
	if runURL != "" {
		note += " of [this run](" + runURL + ")"
	}
	note += " and in report.md._\n"
	budget := MaxChars - utf8.RuneCountInString(head) - utf8.RuneCountInString(note)
	var b strings.Builder
	n := 0
	inFence := false
	for _, block := range strings.SplitAfter(md, "\n\n") {
		// A fenced block may contain blank lines: only cut where no fence is open.
		c := utf8.RuneCountInString(block)
		if n+c > budget {
			break
		}
		b.WriteString(block)
		n += c
		if strings.Count(block, "```")%2 == 1 {
			inFence = !inFence
		}
	}
	out := b.String()
	if inFence {
		// The last block kept opened a fence it did not close: drop back to
		// the last cut with no open fence.
		out = lastClosed(out)
	}
	return head + out + note
}

// lastClosed cuts s after its last blank-line boundary with no open fence.
func lastClosed(s string) string {
	open := false
	cut := 0
	for _, block := range strings.SplitAfter(s, "\n\n") {
		if strings.Count(block, "```")%2 == 1 {
			open = !open
		}
		if !open {
			cut += len(block)
		} else {
			break
		}
	}
	return s[:cut]
}

// Post creates or updates the comment. It lists the pull request's
// comments (every page) to find the one with the key's marker.
func Post(ctx context.Context, o Options) (Outcome, string, error) {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Mode != Always && o.Mode != OnFailure {
		return "", "", fmt.Errorf("comment mode %q: expected %s or %s", o.Mode, Always, OnFailure)
	}
	api := strings.TrimSuffix(o.API, "/")
	marker := Marker(o.Key)
	existing, err := o.find(ctx, fmt.Sprintf("%s/repos/%s/issues/%d/comments?per_page=100", api, o.Repository, o.Number), marker)
	if err != nil {
		return "", "", err
	}
	body := Body(o.Key, o.Body, o.RunURL)
	payload, _ := json.Marshal(map[string]string{"body": body})
	if existing != nil {
		var c comment
		if err := o.do(ctx, http.MethodPatch, fmt.Sprintf("%s/repos/%s/issues/comments/%d", api, o.Repository, existing.ID), payload, &c); err != nil {
			return "", "", err
		}
		return Updated, c.HTMLURL, nil
	}
	if o.Mode == OnFailure && !o.Failed {
		return Skipped, "", nil
	}
	var c comment
	if err := o.do(ctx, http.MethodPost, fmt.Sprintf("%s/repos/%s/issues/%d/comments", api, o.Repository, o.Number), payload, &c); err != nil {
		return "", "", err
	}
	return Created, c.HTMLURL, nil
}

type comment struct {
	ID      int64  `json:"id"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
}

// find walks the pages of comments (the Link header's rel="next").
func (o Options) find(ctx context.Context, first, marker string) (*comment, error) {
	next := first
	for pages := 0; next != "" && pages < 100; pages++ {
		var cs []comment
		link, err := o.get(ctx, next, &cs)
		if err != nil {
			return nil, err
		}
		for i := range cs {
			if strings.HasPrefix(cs[i].Body, marker) {
				return &cs[i], nil
			}
		}
		next = nextLink(link)
	}
	return nil, nil
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="next"`)

func nextLink(h string) string {
	if m := linkNext.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

func (o Options) get(ctx context.Context, u string, out any) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := o.send(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	return resp.Header.Get("Link"), json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out)
}

func (o Options) do(ctx context.Context, method, u string, payload []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// send adds the API headers and turns an error status into an error that
// says what to do.
func (o Options) send(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+o.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "llmcheck")
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, redact(req.URL), err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var e struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	msg := fmt.Sprintf("%s %s: %s", req.Method, redact(req.URL), resp.Status)
	if e.Message != "" {
		msg += ": " + oneLine(e.Message)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		msg += " (the token is missing or invalid: pass the job's GITHUB_TOKEN)"
	case http.StatusForbidden, http.StatusNotFound:
		msg += " (the token cannot write pull-request comments: give the job `permissions: pull-requests: write`; pull requests from forks get a read-only token)"
	}
	return nil, fmt.Errorf("%s", msg)
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
