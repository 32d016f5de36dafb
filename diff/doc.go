// Package diff owns the comparison of two recorded runs (base and head):
// per-group deltas with a significance verdict, structural changes test
// by test or as distributions, headlines, and the text, Markdown and JSON
// reports of `llmcheck diff`.
//
// # Usage
//
//	r := diff.Compare(baseRun, headRun, diff.Options{Pricing: cfg.Pricing})
//	r.Base.Name, r.Head.Name = "main", "my-branch" // optional labels
//	r.Text(os.Stdout)                             // terminal
//	md := r.Markdown(diff.MaxCommentBytes)          // PR comment, step summary
//	r.WriteJSON(f)                                // machine-readable, "version": 1
//
// When the base is a baseline summary (llmcheck.baseline.json, see
// assert.SummariseGroups) rather than a trace file:
//
//	r := diff.CompareSummary(file.Groups, headRun, diff.Options{Pricing: cfg.Pricing})
//
// # Groups
//
// Spans are grouped by a signature that does not depend on ids, timing or
// the order of a run: service name + operation + model, for example
// "ragdemo · chat · gpt-4o-mini". A span without an operation (an HTTP
// handler, a framework step, the test's own root span) is grouped by
// service + span name instead, since it has nothing else stable: span
// names with ids in them make one group per span. A span without a
// service is under "-". Each group, on each side, has:
//
//   - count, error count and error rate (error status);
//   - latency p50, p95, p99 and mean in ms (linear interpolation between
//     closest ranks, Hyndman–Fan type 7, as assert and k6 compute them);
//   - input, output, cached and total tokens, summed and per call, over
//     the spans that report tokens;
//   - cost in USD: the cost a span reports (llm.cost.total) when it has
//     one, else tokens × Options.Pricing per 1M tokens with cached input
//     priced once at the cached rate, (input − cached) × input + cached ×
//     cached_input + output × output — assert's rule. Spans with tokens
//     but no price are counted as unpriced, not as zero;
//   - retrieval hit rate and MRR at Options.K, over retrieval spans whose
//     ground truth (llmcheck.relevant_ids on the span or an ancestor) is
//     known; the others are counted as without ground truth.
//
// A group on both sides gets absolute and relative deltas. A group on one
// side only is listed as added or removed.
//
// # Statistics: when a change is a change
//
// Latency, tokens, errors and retrieval quality are noisy; a CI check that
// flags noise is worse than none. Each of these is compared as a sample
// of per-span (or per-query) values, like benchstat compares benchmark
// runs:
//
//   - latency: the span durations;
//   - tokens: the total tokens of each span that reports tokens;
//   - errors: 1 per span with error status, else 0;
//   - hit: hit@K per query with ground truth (0 or 1);
//   - rr: the reciprocal rank per query (0 when nothing relevant is in
//     the top K).
//
// The test is the two-sided Mann-Whitney U test (golang.org/x/perf
// benchmath.AssumeNothing): it assumes nothing about the shape of the
// distributions (latencies are skewed and heavy-tailed), handles ties
// (token counts, 0/1 samples), and is exact for small samples. p50, p95
// and p99 share the latency test; the per-call token means share the
// token test. Counts, sums and cost are shown but not tested: they follow
// the number of calls, which the structural comparison explains.
//
// Too few samples. With fewer than Options.MinSamples values on either
// side (default 6) a delta is "too few samples" and shown as ~, whatever
// its size. The U test's smallest possible two-sided p-value with n
// values a side is 2/C(2n, n): 0.10 for n=3 (so p < 0.05 is impossible
// below 4), 0.029 for n=4, 0.0079 for n=5 and 0.0022 for n=6. The
// correction below divides α by up to the number of comparisons, so a
// change can be significant with four a side only in a report of a
// single comparison (0.05/0.029 < 2), with five in a report of at most 6
// (0.05/0.0079), with six in a report of at most 23 (0.05/0.0022): the
// size of a typical report (a RAG pipeline of 5 groups makes about 10).
// Below six a ~ would be nearly certain, whatever happened.
//
// Multiple comparisons. A report makes many tests (several samples per
// group, many groups); at α = 0.05 each, a report of 10 unchanged tests
// would flag something 40 % of the time. Compare therefore controls the
// family-wise error rate of the whole report with Holm's step-down method:
// the m p-values are sorted, the i-th smallest is multiplied by m − i + 1
// (made monotone, capped at 1), and a change is significant when this
// adjusted p-value is ≤ Alpha. Whatever the dependence between the tests
// (a root span's latency contains its children's), the chance that an
// unchanged pair of runs shows any significant change is at most Alpha.
// Tests that cannot be significant whatever the data — too few samples,
// or every value identical on both sides (no errors anywhere) — are left
// out of m; this depends only on the pooled values, not on which side
// they came from, so the guarantee holds. Measured on synthetic RAG runs
// (5 groups, 60 traces a side, same distributions, different seeds),
// 3.3 % and 4.4 % of two sets of 2,000 pairs show a significant change
// with the correction, 37 % and 38 % without. The reports print the adjusted
// p-value; the JSON has both (p, p_adjusted), and Significance is the
// single, uncorrected test for callers that make one comparison.
//
// Reading a verdict:
//
//	~                  no significant change, or too few samples
//	↑ +38 %  ↓ -12 %   significant: the relative change of that number
//	↓ -50.0 pp         significant change of a rate, in percentage points
//	(+100 %)           a number that is not tested (count, sums, cost)
//	p=0.002 n=40       Holm-adjusted p-value and samples a side (n=40+38 when they differ)
//
// What significance does not say: the samples of one run are assumed
// independent. A provider that is slower for the whole head run, a cache
// that was cold, or a different machine makes every span of one side
// slower, and the test rightly reports that the runs differ — not that
// the code did it. Use regression rules with a tolerance
// (head.latency.p95 <= base.latency.p95 * 1.10) together with the verdict,
// and record both runs in the same environment. The test compares whole
// distributions (a shift of location); a change of p95 alone, with the
// bulk unchanged, may not be significant.
//
// # Structure: what the app did, test by test
//
// Numbers say how much; structure says what. Traces are matched by name:
// the test of a trace is the value of the first of Options.TestAttr
// (test.name, test.case.name, llmcheck.test, code.function,
// test.suite.name) found on the root span, else on any span of the trace
// in start order, trying the attributes in that order; test.case.name is
// qualified by test.suite.name ("suite / case") when the trace has both
// (the OpenTelemetry test conventions). A trace without any of them has
// no test identity and is named by its root span name.
//
// A name with exactly one trace on each side is a matched test, compared
// trace with trace. A name with several traces on a side — the root name
// of every request of an app without test identity, or a test that ran
// several times — is a set, compared as distributions (below): never the
// k-th trace with the k-th, which would pair unrelated requests. A name on
// one side only is listed there.
//
// For each matched test it compares:
//
//   - the number of LLM calls (chat, text_completion, generate_content),
//     tool calls (execute_tool), retrievals and embeddings calls;
//   - model swaps: the two sequences of operations are aligned (a
//     maximum-weight common subsequence, where the same operation and
//     model weighs 3 and the same operation with another model 1), and an
//     aligned operation whose model changed is a swap ("chat model gpt-4o →
//     gpt-4o-mini") when the old model is gone or the new one is new;
//     other models used on one side only are listed as added or removed;
//   - the order of operations: the sequence of operation[:model] of the
//     spans with an operation, in causal and start order (below).
//     Consecutive duplicates are collapsed before comparing — a retrieval
//     that now runs twice in a row is a count change, not an order change
//     — and a reported model swap is applied first, so it is not reported
//     twice.
//
// The changes are then summarised across tests ("retrievals per trace 1 →
// 2 in 18 of 20 matched tests"), most widespread first; the JSON lists
// every changed test with its trace ids.
//
// Order and the clock's resolution. Spans are taken by start time, an
// ancestor before its descendants at the same start and, between spans
// starting together, the one that ends first first. Two spans are
// concurrent when one starts more than the clock's resolution before the
// other ends and neither contains the other; concurrent spans (parallel
// tool calls) are sorted by operation and model, so that a race between
// them is not a change. The resolution is read from the data, per trace:
// 1 ms when every start time of the trace is a whole millisecond (the
// OpenTelemetry Node SDK truncates start times so, while its end times
// are precise: a call then often seems to start before the previous one
// ended), else 100 µs, 10 µs or 1 µs when all start times are multiples
// of it, else none. A call that starts within the previous call's last
// resolution step follows it.
//
// Sets: distributions of structure. For a set, each trace is reduced to
// its calls per kind (LLM, tool, retrieval, embeddings), its calls per
// operation and model ("chat gpt-4o"), and its sequence of operations
// without models, consecutive repeats collapsed ("chat → embeddings →
// retrieval → execute_tool → chat"). Each of these is compared between
// base and head as a distribution over the set's traces
// (Structure.Distributions, one StructuralTest each):
//
//   - calls per trace: the two-sided Mann-Whitney U test of the per-trace
//     counts (as every other sample: ties handled, exact for small
//     samples);
//   - the sequence of operations: Pearson's chi-square test of
//     homogeneity of the 2 × k table of traces per sequence, after
//     pooling the rarest sequences until every expected count is at least
//     5 (Cochran's rule); with fewer than two pooled categories there is
//     nothing to test.
//
// A statistic with the same value in every trace of both sides is not
// listed. With fewer than Options.MinSamples traces on a side a test is
// too few and not counted, as for the groups. The counted tests form the
// structural family: Holm's correction at Options.Alpha over them alone
// (Structure.Comparisons, Structure.Family), apart from the groups'
// family (Report.Comparisons), so that a baseline summary, which keeps
// no traces, and its trace file correct the same group family. A change
// of a set is reported — in the headlines, the text and the Markdown
// report — only when significant, with its counts: "POST /answer: chat
// model gpt-4o → gpt-4o-mini: gpt-4o in 400/400 → 280/400 traces,
// gpt-4o-mini in 0/400 → 120/400 traces; significant, p<0.001 n=400".
// Within a set, an operation whose calls with one model fell and with
// another rose, both significantly, is one model swap. The JSON has every
// test with its counts per value, p and p_adjusted. On seeded runs of 400
// traces without test identity (docs/statistics.md), 3.0 % of 200
// unchanged pairs show a structural headline; a switch of 30 % of the
// gpt-4o answers to gpt-4o-mini is found in 97.5 % of pairs, one more
// tool call per request in 100 %.
//
// # Against a baseline summary
//
// CompareSummary compares head with a baseline summary, which keeps per
// group the exact count, errors, latency percentiles and mean, token,
// cost and retrieval sums, and bounded samples of the per-span values
// (at most assert.MaxSamples = 200 per group and statistic: beyond that,
// evenly spaced order statistics of the sorted values). The report is
// the same as Compare's for the groups, with these differences:
//
//   - head's statistics are computed as Compare computes them; the base's
//     are the summary's: count, error rate, p50/p95/p99 and token sums are
//     the ones Compare computes from the same spans (the percentiles are
//     exact whatever the size of the group, the mean and the cost up to
//     rounding);
//   - the tests use the summary's samples as the base sample: latency
//     (rounded to the microsecond), total tokens, reciprocal ranks (hit
//     is rr > 0), and 0/1 error indicators with the group's exact error
//     rate. For a group of at most 200 spans these are the group's values
//     and the verdicts are Compare's; for a larger group the base sample
//     has 200 values (n=200+… in the reports), which keeps the verdict of
//     a clear change but has less power than the whole group;
//   - tokens per call divide by the number of spans that report tokens:
//     the size of the token sample up to 200, beyond that estimated from
//     the sum and the sample's mean (the group's count when within 2 %);
//   - cost is the summary's sum (Cost.Source "summary"; a summary does
//     not say how many spans were reported or priced);
//   - retrieval is compared at the k the summary was written with, which
//     is then the report's K;
//   - there is no structural comparison: a summary keeps no traces (nor
//     a structural family: the group family is the same as Compare's).
//     Structure.Unavailable says so, and the text and Markdown reports
//     say it in one line; headlines are the significant changes and the
//     groups added or removed. Base.Summary is set, and Base.Traces is 0
//     unless the caller sets it from the summary file.
//
// # Headlines
//
// The "what changed in one screen" list, in this order: model swaps;
// significant latency and token changes, largest relative change first;
// significant retrieval-quality and error-rate changes; call-count
// changes; models newly used or no longer used; order changes; groups
// added or removed (except those a model swap explains); tests on one
// side only. Changes of sets are among them only when significant. The
// text and Markdown reports show the first 10.
//
// # Reports
//
// Text is a terminal report like benchstat's: headlines, then one row per
// group and metric with base, head, the change or ~, and the p-value with
// sample sizes on the first row of each test; groups on one side; the
// structural patterns. Markdown is for a pull-request comment or a step
// summary: headlines, one table row per group with "base → head change"
// cells, structural patterns, the changes per test in a collapsed
// section, and a mermaid xychart-beta of p50/p95 latency per group (at
// most 12 groups); it never exceeds the byte limit it is given and never
// cuts markup. The JSON report is the Report struct; its field names are
// stable and "version" changes when one is not.
//
// # Performance
//
// Compare is linear in the number of spans apart from sorting each
// group's samples. On 100,000 spans a side (20,000 traces of 5 spans, 5
// groups, every test changed), BenchmarkCompare measures 0.27–0.45 s and
// 120 MB allocated for Compare, and 0.1 s for the Markdown report with
// its 20,000 per-test lines, on a shared 2-vCPU AMD EPYC VM.
package diff
