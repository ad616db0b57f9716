package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/lock"
)

func (inv *invocation) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show what production runs, how the last run ended, and whether a run is going on",
		Long: `Status says what production runs (as the deployer says, when it can tell,
else as the last run recorded), how the last run ended (its outcome, release,
deployment, time and report, and whether it is unfinished, for the next ship
to resume), and whether a run holds the repository's lock now (who, since when,
at which step). It changes nothing and needs no network unless the deployer
can say what production runs.`,
		Example: `  shipprod status
  shipprod status --json | jq -r .production.release.tag`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return inv.status(c.Context())
		},
	}
}

// statusJSON is the line status --json writes (SchemaStatus).
type statusJSON struct {
	// Production is what production runs; null when unknown (see notes).
	Production *deploymentJSON `json:"production"`
	// LastRun is the journaled run; null when none is.
	LastRun *lastRunJSON `json:"last_run"`
	Lock    lockJSON     `json:"lock"`
	Config  string       `json:"config"`
	Journal string       `json:"journal,omitempty"`
	// Notes say what could not be known, and why.
	Notes []string `json:"notes,omitempty"`
}

type lastRunJSON struct {
	// Outcome is the run's outcome; a run that has not ended is running
	// (a run holds the lock) or stopped (it was killed).
	Outcome    string          `json:"outcome"`
	Release    releaseJSON     `json:"release"`
	Deployment *deploymentJSON `json:"deployment,omitempty"`
	StartedAt  time.Time       `json:"started_at,omitzero"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
	DurationMS int64           `json:"duration_ms"`
	Reports    []string        `json:"reports,omitempty"`
	Error      string          `json:"error,omitempty"`
	// Unfinished: the run made its release and stopped before its end
	// (failed, interrupted, or killed while running); the next ship
	// resumes it unless the repository moved on.
	Unfinished bool `json:"unfinished"`
	// RolledBack are the ids of the deployments runs rolled back.
	RolledBack []string `json:"rolled_back,omitempty"`
}

type lockJSON struct {
	Held    bool      `json:"held"`
	PID     int       `json:"pid,omitempty"`
	Host    string    `json:"host,omitempty"`
	Command string    `json:"command,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Doing   string    `json:"doing,omitempty"`
	Updated time.Time `json:"updated,omitzero"`
}

// status reports production, the last run and the lock.
func (inv *invocation) status(ctx context.Context) error {
	o := inv.opts
	st := statusJSON{Config: o.configPath()}
	cfg, cfgErr := loadConfig(o.configPath())
	switch {
	case cfgErr != nil:
		st.Notes = append(st.Notes, "the configuration could not be read ("+oneLine(cfgErr.Error())+"): the journal was looked for where it is by default")
		cfg = &Config{}
	case cfg == nil:
		st.Notes = append(st.Notes, "no "+o.configPath()+": the journal was looked for where it is by default")
		cfg = &Config{}
	}
	last, err := inv.statusJournal(ctx, cfg, &st)
	if err != nil {
		return err
	}
	inv.statusProduction(ctx, cfg, last, &st)
	if err := statusLock(ctx, o.dir, &st); err != nil {
		return err
	}
	if run := st.LastRun; run != nil && run.Outcome == "unended" {
		run.Outcome = "stopped"
		if st.Lock.Held {
			run.Outcome = "running"
		}
	}
	if o.json {
		err := (&jsonLines{w: inv.stdout}).write(SchemaStatus, st)
		return cmp.Or(cfgErr, err)
	}
	printStatus(inv.stdout, st, inv.app.name())
	return cfgErr
}

// statusJournal reads the last run from the journal.
func (inv *invocation) statusJournal(ctx context.Context, cfg *Config, st *statusJSON) (*shipprod.Result, error) {
	j, err := journalFile(ctx, inv.opts.dir, cfg.Journal)
	if err != nil {
		return nil, err
	}
	if j == nil {
		st.Notes = append(st.Notes, "the journal is disabled (journal.disabled): no run is recorded")
		return nil, nil
	}
	st.Journal = j.Path
	last, err := lastRun(ctx, *j)
	if err != nil {
		return nil, err
	}
	if last != nil {
		st.LastRun = newLastRunJSON(last)
	}
	return last, nil
}

func newLastRunJSON(res *shipprod.Result) *lastRunJSON {
	out := &lastRunJSON{Outcome: string(res.Outcome), Release: newReleaseJSON(res.Release),
		StartedAt: res.StartedAt, FinishedAt: res.FinishedAt, Reports: res.Reports, Error: res.Error,
		Unfinished: unfinished(res)}
	if out.Outcome == "" {
		// The run has not ended: it runs now (status says whether the
		// lock is held), or it was killed.
		out.Outcome = "unended"
	}
	if !res.FinishedAt.IsZero() {
		out.DurationMS = res.FinishedAt.Sub(res.StartedAt).Milliseconds()
	}
	if res.Deployment != nil {
		out.Deployment = deploymentOf(*res.Deployment)
	}
	for _, d := range res.RolledBackBuilds {
		out.RolledBack = append(out.RolledBack, d.ID)
	}
	return out
}

// unfinished reports whether a journaled run made its release and stopped
// before its end: the next ship resumes it.
func unfinished(res *shipprod.Result) bool {
	switch res.Outcome {
	case "", shipprod.OutcomeFailed, shipprod.OutcomeInterrupted:
		return res.Release.Version != ""
	}
	return false
}

// statusProduction asks the deployer what production runs, when it can
// say, else takes the journal's word. Building the deployer needs a valid
// configuration; when it is not, the journal answers.
func (inv *invocation) statusProduction(ctx context.Context, cfg *Config, last *shipprod.Result, st *statusJSON) {
	var d shipprod.Deployer
	if cfg.Deploy.Provider != "" {
		s, err := build(ctx, inv.opts.dir, inv.opts.configPath(), cfg, inv.logger())
		if err == nil && inv.opts.configure != nil {
			err = inv.opts.configure(s.pipeline, cfg)
		}
		if err != nil {
			st.Notes = append(st.Notes, "the deployer could not be set up, so the journal says what production runs: "+oneLine(err.Error()))
		} else {
			d = s.pipeline.Deployer
		}
	}
	r, asked, err := askProduction(ctx, d, last)
	if err != nil {
		st.Notes = append(st.Notes, oneLine(err.Error())+"; the journal says what production runs")
	}
	if !asked || err != nil {
		r = runningFromJournal(last)
	}
	if r == nil {
		st.Notes = append(st.Notes, "what production runs is unknown: the deployer cannot say, and no deploy is journaled")
		return
	}
	st.Production = newDeploymentJSON(r)
}

// statusLock says whether a run holds the repository's lock.
func statusLock(ctx context.Context, dir string, st *statusJSON) error {
	path, err := lock.InGitDir(ctx, dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		st.Lock = lockJSON{} // no run ever took it
		return nil
	}
	h, held, err := lock.Inspect(path)
	if err != nil {
		return fmt.Errorf("reading the lock %s: %w", path, err)
	}
	st.Lock = lockJSON{Held: held}
	if held {
		st.Lock = lockJSON{Held: true, PID: h.PID, Host: h.Host, Command: h.Command, Started: h.Started, Doing: h.Doing, Updated: h.Updated}
	}
	return nil
}

// printStatus writes the status for people.
func printStatus(w io.Writer, st statusJSON, name string) {
	fmt.Fprintf(w, "Production:  %s\n", productionLine(st.Production))
	printLastRun(w, st.LastRun, name)
	fmt.Fprintf(w, "Lock:        %s\n", lockLine(st.Lock))
	for _, n := range st.Notes {
		fmt.Fprintf(w, "Note:        %s\n", n)
	}
}

func productionLine(d *deploymentJSON) string {
	if d == nil {
		return "unknown"
	}
	r := d.Release
	s := releaseName(shipprod.Release{Version: r.Version, Tag: r.Tag, Commit: r.Commit})
	var facts []string
	if d.ID != "" {
		facts = append(facts, cmp.Or(d.Provider, "deployer")+" deployment "+shortID(d.ID))
	}
	if d.URL != "" {
		facts = append(facts, d.URL)
	}
	if len(facts) > 0 {
		s += " (" + strings.Join(facts, ", ") + ")"
	}
	by := "as the last run recorded"
	if d.Source == fromDeployer {
		by = "as the deployer says"
	}
	return s + ", " + by
}

func printLastRun(w io.Writer, run *lastRunJSON, name string) {
	if run == nil {
		fmt.Fprintln(w, "Last run:    none recorded")
		return
	}
	r := run.Release
	fmt.Fprintf(w, "Last run:    %s %s", run.Outcome, releaseName(shipprod.Release{Version: r.Version, Tag: r.Tag, Commit: r.Commit}))
	if r.PreviousTag != "" {
		fmt.Fprintf(w, " (from %s)", r.PreviousTag)
	}
	fmt.Fprintln(w)
	when := "started " + rfc3339(run.StartedAt)
	if run.DurationMS > 0 {
		when += fmt.Sprintf(", took %s", (time.Duration(run.DurationMS) * time.Millisecond).Round(time.Second))
	}
	fmt.Fprintf(w, "             %s\n", when)
	if d := run.Deployment; d != nil {
		fmt.Fprintf(w, "             deployment %s %s\n", d.Provider, shortID(d.ID))
	}
	for _, path := range run.Reports {
		fmt.Fprintf(w, "             report %s\n", path)
	}
	if run.Error != "" {
		fmt.Fprintf(w, "             error: %s\n", oneLine(run.Error))
	}
	if run.Unfinished {
		fmt.Fprintf(w, "             unfinished: %s ship resumes it (%s ship --fresh starts over)\n", name, name)
	}
}

func lockLine(l lockJSON) string {
	if !l.Held {
		return "free: no run is going on"
	}
	h := lock.Holder{PID: l.PID, Host: l.Host, Command: l.Command, Started: l.Started, Doing: l.Doing}
	if h.PID == 0 {
		return "held by a run that has not said who it is"
	}
	return "held by " + h.String()
}
