package githubactions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/github"
	"github.com/shipprod/shipprod/provider"
)

// Defaults of the run-following settings.
const (
	DefaultTimeout          = 30 * time.Minute
	DefaultDiscoveryTimeout = 3 * time.Minute
	DefaultPollInterval     = 3 * time.Second // what `gh run watch` uses
	DefaultMaxPollInterval  = 20 * time.Second
)

// Budget: over a long wait, at most one request per budgetInterval on
// average; the first budgetBurst requests may come faster. With these
// values a 10-minute run costs at most 6 + 600/5.5 = 115 requests, under
// the one-per-5-seconds budget, however the intervals are configured.
const (
	budgetInterval = 5500 * time.Millisecond
	budgetBurst    = 6
	// rateReserve: below this many requests left in the rate-limit window,
	// polls are spread over the time until the window resets.
	rateReserve = 100
	// maxConsecutiveErrors transient failures in a row end a wait.
	maxConsecutiveErrors = 5
)

// Run is a GitHub Actions workflow run.
type Run struct {
	ID         int64  `json:"id"`
	WorkflowID int64  `json:"workflow_id"`
	Name       string `json:"name"`
	// Title is the run's display title (its run-name).
	Title      string    `json:"title"`
	Event      string    `json:"event"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion,omitempty"`
	HeadBranch string    `json:"head_branch"`
	HeadSHA    string    `json:"head_sha"`
	RunNumber  int       `json:"run_number"`
	URL        string    `json:"url"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func fromRun(r github.Run) Run {
	return Run{ID: r.ID, WorkflowID: r.WorkflowID, Name: r.Name, Title: r.DisplayTitle, Event: r.Event,
		Status: r.Status, Conclusion: r.Conclusion, HeadBranch: r.HeadBranch, HeadSHA: r.HeadSHA,
		RunNumber: r.RunNumber, URL: r.HTMLURL, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (r Run) describe() string {
	name := r.Title
	if name == "" {
		name = r.Name
	}
	return fmt.Sprintf("workflow run %d (%s)", r.ID, name)
}

// ErrRunFailed is wrapped by every *RunError.
var ErrRunFailed = errors.New("workflow run did not succeed")

// RunError is a run that completed without success.
type RunError struct {
	Run Run
	// Reason explains the conclusion in words.
	Reason string
}

func (e *RunError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Run.describe(), e.Reason, e.Run.URL)
}

// Unwrap lets errors.Is(err, ErrRunFailed) match.
func (e *RunError) Unwrap() error { return ErrRunFailed }

// conclusionReasons say what each conclusion means for a deploy.
var conclusionReasons = map[string]string{
	"failure":         "failed: a job of the workflow failed, see its log",
	"cancelled":       "was cancelled, by a person or by a newer run in the same concurrency group",
	"timed_out":       "timed out on GitHub: a job ran longer than its timeout-minutes",
	"startup_failure": "failed to start, so no job ran: the workflow file is invalid or uses something it may not",
	"action_required": "needs an approval before it runs (a required reviewer, or a first-time contributor's workflow)",
	"neutral":         "finished neutral: nothing was deployed",
	"skipped":         "was skipped: every job's condition was false, nothing was deployed",
	"stale":           "went stale: GitHub gave up on it",
}

func runError(r Run) error {
	if r.Conclusion == "success" {
		return nil
	}
	reason, ok := conclusionReasons[r.Conclusion]
	if !ok {
		reason = fmt.Sprintf("ended with conclusion %q", r.Conclusion)
	}
	return &RunError{Run: r, Reason: reason}
}

// TimeoutError means the deadline passed before the run completed (or,
// when Run is nil, before it even appeared).
type TimeoutError struct {
	// Run is the run as last seen; nil if it never appeared.
	Run    *Run
	Waited time.Duration
	// Reason says why a run in this state may not move.
	Reason string
	// Cancelled is set when the run was cancelled on the timeout.
	Cancelled bool
}

func (e *TimeoutError) Error() string {
	if e.Run == nil {
		return fmt.Sprintf("gave up after %s: %s", e.Waited.Round(time.Second), e.Reason)
	}
	msg := fmt.Sprintf("%s still %s after %s: %s: %s", e.Run.describe(), e.Run.Status, e.Waited.Round(time.Second), e.Reason, e.Run.URL)
	if e.Cancelled {
		msg += " (the run was cancelled)"
	}
	return msg
}

// Timeout reports true, for callers that test for timeouts generically.
func (e *TimeoutError) Timeout() bool { return true }

// stuckReasons say why a run may stay in a status.
var stuckReasons = map[string]string{
	"queued":      "no runner picked it up (every runner busy, none with the job's labels, or a concurrency group holding it)",
	"waiting":     "it waits for a deployment protection rule: a required reviewer must approve the environment, or a wait timer runs",
	"pending":     "a concurrency group holds it until an earlier run finishes",
	"requested":   "GitHub has not started it yet",
	"in_progress": "the deploy takes longer than the timeout (raise deploy.github-actions.timeout if that is normal)",
}

// WatchConfig configures a Watcher. Durations are strings in YAML ("30m").
type WatchConfig struct {
	// Repository is "owner/name"; default Facts["github.repository"], else
	// the git remote's URL.
	Repository string `yaml:"repository"`
	// APIURL is the REST root; default Facts["github.api_url"], else github.com.
	APIURL string `yaml:"api_url"`
	// TokenEnv names the token's variable; default Facts["github.token_env"],
	// else GH_TOKEN, then GITHUB_TOKEN (the gh CLI's order).
	TokenEnv string `yaml:"token_env"`
	// MaxRateLimitWait bounds each rate-limit wait (default 10m).
	MaxRateLimitWait time.Duration `yaml:"max_rate_limit_wait"`
	// Timeout bounds a whole wait for a run (default 30m).
	Timeout time.Duration `yaml:"timeout"`
	// DiscoveryTimeout bounds the wait for a run to appear (default 3m).
	DiscoveryTimeout time.Duration `yaml:"discovery_timeout"`
	// PollInterval is the first poll's interval (default 3s); it grows by
	// half each poll up to MaxPollInterval (default 20s).
	PollInterval    time.Duration `yaml:"poll_interval"`
	MaxPollInterval time.Duration `yaml:"max_poll_interval"`
	// CancelOnTimeout cancels a run that is still going at the deadline.
	CancelOnTimeout bool `yaml:"cancel_on_timeout"`
	// ClockSkew is how far GitHub's clock (a run's created_at) may be
	// from ours: runs created up to this long before a push or dispatch
	// are still looked at (default 5s).
	ClockSkew time.Duration `yaml:"clock_skew"`
}

func (c *WatchConfig) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.DiscoveryTimeout <= 0 {
		c.DiscoveryTimeout = DefaultDiscoveryTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxPollInterval <= 0 {
		c.MaxPollInterval = DefaultMaxPollInterval
	}
	if c.MaxPollInterval < c.PollInterval {
		c.MaxPollInterval = c.PollInterval
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = DefaultClockSkew
	}
}

// Fact keys read from provider.Env.Facts for the shared `github:` and `git:`
// settings (the reference CLI fills them in).
const (
	FactRepository = "github.repository"
	FactAPIURL     = "github.api_url"
	FactTokenEnv   = "github.token_env"
	FactGitRemote  = "git.remote"
)

// Watcher finds and follows GitHub Actions workflow runs with adaptive
// polling on the injected clock, a deadline, and a request budget. The
// git-push deployer uses it to follow the CI run its push triggers.
type Watcher struct {
	client *github.Client
	cfg    WatchConfig
	clock  shipprod.Clock
	log    *slog.Logger
}

// NewWatcher returns a Watcher for the repository and token that cfg and
// env name. It fails at once when the token or the repository is missing.
func NewWatcher(ctx context.Context, cfg WatchConfig, env provider.Env) (*Watcher, error) {
	cfg.defaults()
	fact := func(v, key string) string {
		if v != "" {
			return v
		}
		return env.Facts[key]
	}
	getenv := env.Getenv
	client, err := github.New(ctx, github.Options{
		Repository:       fact(cfg.Repository, FactRepository),
		Dir:              env.Dir,
		Remote:           env.Facts[FactGitRemote],
		APIURL:           fact(cfg.APIURL, FactAPIURL),
		TokenEnv:         fact(cfg.TokenEnv, FactTokenEnv),
		Getenv:           getenv,
		HTTPClient:       env.HTTPClient,
		Clock:            env.ClockOrDefault(),
		Logger:           env.LoggerOrDefault(),
		MaxRateLimitWait: cfg.MaxRateLimitWait,
	})
	if err != nil {
		return nil, err
	}
	return &Watcher{client: client, cfg: cfg, clock: env.ClockOrDefault(), log: env.LoggerOrDefault()}, nil
}

// Repository returns "owner/name".
func (w *Watcher) Repository() string { return w.client.Repository() }

// Requests returns the number of API requests made so far.
func (w *Watcher) Requests() int64 { return w.client.Requests() }

// PushRun selects the run a push triggered.
type PushRun struct {
	// Workflow is the workflow file name or id ("" for any workflow).
	Workflow string
	// Ref is the pushed branch or tag name (matched against head_branch);
	// "" for any.
	Ref string
	// SHA is the pushed commit (head_sha). Required.
	SHA string
	// PushedAt is when the push was made, on the Watcher's clock. When
	// set, only runs created since PushedAt minus the clock skew are
	// considered: a commit pushed to the ref before (as a git-push
	// rollback pushes the release it returns to) has runs of its own, and
	// they say nothing about this push. When zero, the newest run of the
	// commit on the ref is taken, however old.
	PushedAt time.Time
	// Existing are runs that existed before the push; they are never
	// taken for its run. StartPush fills it in.
	Existing []int64
}

// StartPush records the push that q describes as happening now: it sets
// q.PushedAt from the Watcher's clock and q.Existing to the runs of the
// commit on the ref that already exist within the clock skew. Call it just
// before pushing (or, as PushFollower must, right after), then pass the
// result to WaitForPush or FindPushRun.
func (w *Watcher) StartPush(ctx context.Context, q PushRun) (PushRun, error) {
	if q.SHA == "" {
		return q, errors.New("finding the run of a push needs the pushed commit")
	}
	q.PushedAt = w.clock.Now()
	runs, _, err := w.client.ListRuns(ctx, w.pushFilter(q, 100))
	if err != nil {
		return q, fmt.Errorf("listing the workflow runs that existed before the push of %s: %w", git.ShortSHA(q.SHA), err)
	}
	q.Existing = q.Existing[:0:0]
	for _, r := range runs {
		q.Existing = append(q.Existing, r.ID)
	}
	return q, nil
}

// pushFilter selects the runs a push of q may have triggered.
func (w *Watcher) pushFilter(q PushRun, perPage int) github.RunFilter {
	f := github.RunFilter{Workflow: q.Workflow, Event: "push", Branch: q.Ref, HeadSHA: q.SHA, PerPage: perPage}
	if !q.PushedAt.IsZero() {
		f.CreatedSince = q.PushedAt.Add(-w.cfg.ClockSkew)
	}
	return f
}

// FindPushRun waits (up to DiscoveryTimeout) for the run that a push of
// q.SHA triggered, and returns the newest one created since q.PushedAt
// (minus the clock skew) that is not one of q.Existing.
func (w *Watcher) FindPushRun(ctx context.Context, q PushRun) (Run, error) {
	if q.SHA == "" {
		return Run{}, errors.New("finding the run of a push needs the pushed commit")
	}
	start := w.clock.Now()
	p := w.newPacer(start, start.Add(w.cfg.DiscoveryTimeout))
	if wait := q.PushedAt.Add(w.cfg.PollInterval).Sub(start); !q.PushedAt.IsZero() && wait > 0 {
		// GitHub takes seconds to start a run: the first look is one poll
		// interval after the push, not a request that cannot succeed.
		if err := w.clock.Sleep(ctx, wait); err != nil {
			return Run{}, err
		}
	}
	existing := make(map[int64]bool, len(q.Existing))
	for _, id := range q.Existing {
		existing[id] = true
	}
	var skipped []github.Run
	run, err := w.discover(ctx, p, w.pushFilter(q, 10), func(runs []github.Run) (github.Run, bool, error) {
		skipped = skipped[:0]
		for _, r := range runs { // newest first
			if !existing[r.ID] {
				return r, true, nil
			}
			skipped = append(skipped, r)
		}
		return github.Run{}, false, nil
	})
	if err != nil {
		var te *TimeoutError
		if errors.As(err, &te) {
			te.Reason = fmt.Sprintf("no %s run for the push of %s%s appeared in %s; is the workflow triggered by this push (on: push), and was the push made with a token that may trigger workflows (GITHUB_TOKEN pushes do not)?",
				cmp.Or(q.Workflow, "workflow"), git.ShortSHA(q.SHA), orEmpty(" to ", q.Ref), w.cfg.DiscoveryTimeout)
			te.Reason += w.earlierRuns(ctx, q, skipped)
		}
		return Run{}, err
	}
	return run, nil
}

// earlierRuns explains, after no run of a push appeared, which runs of the
// commit were left aside and why; "" when there were none.
func (w *Watcher) earlierRuns(ctx context.Context, q PushRun, skipped []github.Run) string {
	if q.PushedAt.IsZero() {
		return ""
	}
	if len(skipped) > 0 {
		r := fromRun(skipped[0])
		return fmt.Sprintf(" (%s of this commit, %s, already existed when the push was made, so it was not taken for the push's run; if GitHub started it that fast, it is the run to look at: %s)",
			r.describe(), cmp.Or(r.Conclusion, r.Status), r.URL)
	}
	// One more request, only on this failure: the newest earlier run of the
	// commit, which tells a user whose branch already pointed at the commit
	// (so that nothing was pushed and no run started) where to look.
	older := w.pushFilter(PushRun{Workflow: q.Workflow, Ref: q.Ref, SHA: q.SHA}, 1)
	runs, _, err := w.client.ListRuns(ctx, older)
	if err != nil || len(runs) == 0 {
		return ""
	}
	r := fromRun(runs[0])
	return fmt.Sprintf(" (the newest earlier run of this commit, %s from %s, %s, predates the push and was not taken for its run; if %s already pointed at this commit, nothing was pushed and no run started: %s)",
		r.describe(), r.CreatedAt.UTC().Format(time.RFC3339), cmp.Or(r.Conclusion, r.Status), cmp.Or(q.Ref, "the ref"), r.URL)
}

// Follow polls run id until it completes or the Timeout passes. It returns
// the completed run, a *RunError (wrapping ErrRunFailed) when it did not
// succeed, or a *TimeoutError saying why it may be stuck.
func (w *Watcher) Follow(ctx context.Context, id int64) (Run, error) {
	start := w.clock.Now()
	return w.follow(ctx, id, w.newPacer(start, start.Add(w.cfg.Timeout)))
}

// WaitForPush finds the run a push triggered and follows it to the end.
func (w *Watcher) WaitForPush(ctx context.Context, q PushRun) (Run, error) {
	run, err := w.FindPushRun(ctx, q)
	if err != nil {
		return run, err
	}
	return w.Follow(ctx, run.ID)
}

// pacer spaces the requests of one wait: adaptive intervals (fast first,
// then slower), the request budget, the rate-limit headroom and the deadline.
type pacer struct {
	w              *Watcher
	start          time.Time
	deadline       time.Time
	interval, max  time.Duration
	baseRequests   int64
	consecutiveErr int
	// minNext, when set, is the least the next sleep lasts.
	minNext time.Duration
}

func (w *Watcher) newPacer(start, deadline time.Time) *pacer {
	return &pacer{w: w, start: start, deadline: deadline, interval: w.cfg.PollInterval, max: w.cfg.MaxPollInterval,
		baseRequests: w.client.Requests()}
}

// atLeast makes the next sleep last at least d.
func (p *pacer) atLeast(d time.Duration) { p.minNext = max(p.minNext, d) }

// sleep waits before the next request. It returns false when the deadline
// has passed (no further request should be made).
func (p *pacer) sleep(ctx context.Context) (bool, error) {
	now := p.w.clock.Now()
	if !now.Before(p.deadline) {
		return false, nil
	}
	d := max(p.interval, p.minNext)
	p.minNext = 0
	p.interval = min(p.interval*3/2, p.max)
	// The budget: the k-th request of this wait not before start+(k-burst)·interval.
	made := p.w.client.Requests() - p.baseRequests
	if earliest := p.start.Add(time.Duration(made+1-budgetBurst) * budgetInterval); now.Add(d).Before(earliest) {
		d = earliest.Sub(now)
	}
	// Rate-limit headroom: spread what is left over the window.
	if rate := p.w.client.Rate(); rate.Known && rate.Remaining < rateReserve && rate.Reset.After(now) {
		if spread := rate.Reset.Sub(now) / time.Duration(rate.Remaining+1); spread > d {
			p.w.log.Info("few GitHub API requests left; polling more slowly", "remaining", rate.Remaining, "interval", spread.Round(time.Second).String())
			d = spread
		}
	}
	if now.Add(d).After(p.deadline) {
		d = p.deadline.Sub(now)
	}
	if err := p.w.clock.Sleep(ctx, d); err != nil {
		return false, err
	}
	return true, nil
}

// transient decides whether a failed poll may be retried: transient
// failures are tolerated a few times in a row.
func (p *pacer) transient(err error) bool {
	if err == nil {
		p.consecutiveErr = 0
		return false
	}
	if !github.IsTransient(err) {
		return false
	}
	p.consecutiveErr++
	if p.consecutiveErr >= maxConsecutiveErrors {
		return false
	}
	p.w.log.Warn("GitHub poll failed; trying again", "err", err, "in_a_row", p.consecutiveErr)
	return true
}

// discover lists runs with filter until pick finds one or the pacer's
// deadline passes.
func (w *Watcher) discover(ctx context.Context, p *pacer, filter github.RunFilter, pick func([]github.Run) (github.Run, bool, error)) (Run, error) {
	for {
		runs, _, err := w.client.ListRuns(ctx, filter)
		switch {
		case err == nil:
			p.transient(nil)
			run, ok, perr := pick(runs)
			if perr != nil {
				return Run{}, perr
			}
			if ok {
				return fromRun(run), nil
			}
		case p.transient(err):
		default:
			return Run{}, fmt.Errorf("looking for the workflow run: %w", err)
		}
		more, err := p.sleep(ctx)
		if err != nil {
			return Run{}, err
		}
		if !more {
			return Run{}, &TimeoutError{Waited: w.clock.Now().Sub(p.start), Reason: "the workflow run never appeared"}
		}
	}
}

// follow polls the run until it completes or the pacer's deadline passes.
func (w *Watcher) follow(ctx context.Context, id int64, p *pacer) (Run, error) {
	var last *Run
	for {
		got, err := w.client.GetRun(ctx, id)
		switch {
		case err == nil:
			p.transient(nil)
			run := fromRun(got)
			last = &run
			if run.Status == "completed" {
				w.log.Info("workflow run completed", "run", run.ID, "conclusion", run.Conclusion, "url", run.URL)
				return run, runError(run)
			}
			w.log.Debug("workflow run not done yet", "run", run.ID, "status", run.Status)
		case p.transient(err):
		default:
			return Run{}, fmt.Errorf("following workflow run %d: %w", id, err)
		}
		more, err := p.sleep(ctx)
		if err != nil {
			if last != nil {
				return *last, fmt.Errorf("following %s: %w", last.describe(), err)
			}
			return Run{}, fmt.Errorf("following workflow run %d: %w", id, err)
		}
		if !more {
			return w.timedOut(ctx, last, id, p)
		}
	}
}

func (w *Watcher) timedOut(ctx context.Context, last *Run, id int64, p *pacer) (Run, error) {
	te := &TimeoutError{Run: last, Waited: w.clock.Now().Sub(p.start)}
	if last == nil {
		te.Reason = fmt.Sprintf("workflow run %d could not be read", id)
		return Run{}, te
	}
	te.Reason = stuckReasons[last.Status]
	if te.Reason == "" {
		te.Reason = "it did not complete"
	}
	if w.cfg.CancelOnTimeout {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := w.client.CancelRun(cctx, last.ID); err != nil {
			w.log.Warn("could not cancel the timed-out run", "run", last.ID, "err", err)
		} else {
			te.Cancelled = true
		}
	}
	return *last, te
}

func orEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
