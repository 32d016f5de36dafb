package prcomment

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// github is a small in-memory GitHub issue-comments API that records every
// call: list (paginated by per_page, with a Link header), create, update.
type github struct {
	mu       sync.Mutex
	comments []comment
	calls    []string
	status   int // answer every call with this status when set
	nextID   int64
	perPage  int
	srv      *httptest.Server
}

func newGitHub(t *testing.T, existing ...string) *github {
	g := &github{nextID: 100, perPage: 2}
	for _, b := range existing {
		g.nextID++
		g.comments = append(g.comments, comment{ID: g.nextID, Body: b})
	}
	g.srv = httptest.NewServer(g)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *github) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if r.Header.Get("Authorization") != "Bearer t0ken" || r.Header.Get("X-GitHub-Api-Version") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Bad credentials"}`)
		return
	}
	if g.status != 0 {
		w.WriteHeader(g.status)
		fmt.Fprint(w, `{"message":"Resource not accessible by integration"}`)
		return
	}
	var in struct{ Body string }
	if r.Method != http.MethodGet {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &in)
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/repos/acme/app/issues/7/comments":
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page == 0 {
			page = 1
		}
		lo, hi := (page-1)*g.perPage, page*g.perPage
		if hi < len(g.comments) {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?per_page=100&page=%d>; rel="next", <%s/last>; rel="last"`, g.srv.URL, r.URL.Path, page+1, g.srv.URL))
		}
		hi = min(hi, len(g.comments))
		_ = json.NewEncoder(w).Encode(g.comments[min(lo, hi):hi])
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/app/issues/7/comments":
		g.nextID++
		c := comment{ID: g.nextID, Body: in.Body, HTMLURL: fmt.Sprintf("https://github.com/acme/app/pull/7#issuecomment-%d", g.nextID)}
		g.comments = append(g.comments, c)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(c)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/acme/app/issues/comments/"):
		id, _ := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/repos/acme/app/issues/comments/"), 10, 64)
		for i := range g.comments {
			if g.comments[i].ID == id {
				g.comments[i].Body = in.Body
				_ = json.NewEncoder(w).Encode(g.comments[i])
				return
			}
		}
		http.NotFound(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (g *github) opts(body string, failed bool, mode string) Options {
	return Options{API: g.srv.URL, Token: "t0ken", Repository: "acme/app", Number: 7, Key: "llm/tests", Body: body, Failed: failed, Mode: mode}
}

func TestPostCreatesThenUpdates(t *testing.T) {
	// Three comments by others across two pages, none of ours.
	g := newGitHub(t, "LGTM", "<!-- llmcheck-comment: other/job -->\nanother job's", "ship it")
	out, _, err := Post(context.Background(), g.opts("## ❌ llmcheck: 1 of 3 assertions did not pass\n", true, Always))
	require.NoError(t, err)
	assert.Equal(t, Created, out)
	assert.Equal(t, []string{
		"GET /repos/acme/app/issues/7/comments?per_page=100",
		"GET /repos/acme/app/issues/7/comments?per_page=100&page=2",
		"POST /repos/acme/app/issues/7/comments?",
	}, g.calls, "every page is searched before creating")
	require.Len(t, g.comments, 4)
	assert.Equal(t, "<!-- llmcheck-comment: llm/tests -->\n## ❌ llmcheck: 1 of 3 assertions did not pass\n", g.comments[3].Body)

	// The next run of the same job updates that comment: still one comment.
	g.calls = nil
	out, url, err := Post(context.Background(), g.opts("## ✅ llmcheck: all 3 assertions passed\n", false, Always))
	require.NoError(t, err)
	assert.Equal(t, Updated, out)
	assert.Contains(t, url, "#issuecomment-")
	assert.Equal(t, "PATCH /repos/acme/app/issues/comments/104?", g.calls[len(g.calls)-1])
	require.Len(t, g.comments, 4, "sticky: no second comment")
	assert.Contains(t, g.comments[3].Body, "all 3 assertions passed")
	assert.Equal(t, "<!-- llmcheck-comment: other/job -->\nanother job's", g.comments[1].Body, "another job's comment is left alone")
}

func TestOnFailure(t *testing.T) {
	g := newGitHub(t)
	out, _, err := Post(context.Background(), g.opts("## ✅ passed\n", false, OnFailure))
	require.NoError(t, err)
	assert.Equal(t, Skipped, out, "a passing run without an earlier comment posts nothing")
	assert.Empty(t, g.comments)

	out, _, err = Post(context.Background(), g.opts("## ❌ failed\n", true, OnFailure))
	require.NoError(t, err)
	assert.Equal(t, Created, out)

	out, _, err = Post(context.Background(), g.opts("## ✅ passed\n", false, OnFailure))
	require.NoError(t, err)
	assert.Equal(t, Updated, out, "the earlier failure comment is updated, so it does not stay stale")
	require.Len(t, g.comments, 1)
	assert.Contains(t, g.comments[0].Body, "passed")
}

func TestPostErrors(t *testing.T) {
	g := newGitHub(t)
	g.status = http.StatusForbidden
	_, _, err := Post(context.Background(), g.opts("x", true, Always))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "403 Forbidden: Resource not accessible by integration")
	assert.Contains(t, err.Error(), "permissions: pull-requests: write")

	g.status = 0
	o := g.opts("x", true, Always)
	o.Token = "wrong"
	_, _, err = Post(context.Background(), o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401 Unauthorized: Bad credentials")

	o = g.opts("x", true, "sometimes")
	_, _, err = Post(context.Background(), o)
	assert.EqualError(t, err, `comment mode "sometimes": expected always or on-failure`)
}

func TestBodyLimit(t *testing.T) {
	// A report of many blocks, one a code block with blank lines inside.
	var md strings.Builder
	md.WriteString("## ❌ llmcheck: 2 of 9 assertions did not pass\n\n")
	for i := 0; md.Len() < 200_000; i++ {
		fmt.Fprintf(&md, "### failure %d — ünïcode\n\n| a | b |\n|---|---|\n| %d | %s |\n\n", i, i, strings.Repeat("x", 500))
		if i%7 == 0 {
			md.WriteString("```mermaid\nxychart-beta\n\n  bar [1, 2]\n\n```\n\n")
		}
	}
	body := Body("llm/tests", md.String(), "https://github.com/acme/app/actions/runs/1")
	assert.LessOrEqual(t, utf8.RuneCountInString(body), MaxChars)
	assert.Greater(t, utf8.RuneCountInString(body), MaxChars-2000, "uses the room it has")
	assert.True(t, strings.HasPrefix(body, "<!-- llmcheck-comment: llm/tests -->\n## ❌ llmcheck: 2 of 9"))
	assert.Contains(t, body, "full report is in the job summary of [this run](https://github.com/acme/app/actions/runs/1)")
	assert.Equal(t, 0, strings.Count(body, "```")%2, "no code block is left open")
	assert.True(t, utf8.ValidString(body))

	short := Body("k", "## ✅ fine\n", "")
	assert.Equal(t, "<!-- llmcheck-comment: k -->\n## ✅ fine\n", short)
}

func TestMarkerCannotBeClosedByTheKey(t *testing.T) {
	assert.Equal(t, "<!-- llmcheck-comment: a__ x_ -->", Marker("a--> x\n"))
	assert.Equal(t, "<!-- llmcheck-comment: CI / llm-tests (ubuntu) -->", Marker("CI / llm-tests (ubuntu)"))
}
