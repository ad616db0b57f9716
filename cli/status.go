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

// status reports production, the last run and the lock.
func (inv *invocation) status(ctx context.Context) error {
	o := inv.opts
	st := JSONStatus{Config: o.configPath(), Notes: []string{}}
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
func (inv *invocation) statusJournal(ctx context.Context, cfg *Config, st *JSONStatus) (*shipprod.Result, error) {
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
		st.LastRun = encodeLastRun(last)
	}
	return last, nil
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
func (inv *invocation) statusProduction(ctx context.Context, cfg *Config, last *shipprod.Result, st *JSONStatus) {
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
	st.Production = encodeProduction(r)
}

// statusLock says whether a run holds the repository's lock.
func statusLock(ctx context.Context, dir string, st *JSONStatus) error {
	path, err := lock.InGitDir(ctx, dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		st.Lock = JSONLock{} // no run ever took it
		return nil
	}
	h, held, err := lock.Inspect(path)
	if err != nil {
		return fmt.Errorf("reading the lock %s: %w", path, err)
	}
	st.Lock = JSONLock{Held: held}
	if held {
		st.Lock = JSONLock{Held: true, PID: h.PID, Host: h.Host, Command: h.Command, StartedAt: Timestamp(h.Started),
			Doing: h.Doing, UpdatedAt: Timestamp(h.Updated)}
	}
	return nil
}

// printStatus writes the status for people.
func printStatus(w io.Writer, st JSONStatus, name string) {
	fmt.Fprintf(w, "Production:  %s\n", productionLine(st.Production))
	printLastRun(w, st.LastRun, name)
	fmt.Fprintf(w, "Lock:        %s\n", lockLine(st.Lock))
	for _, n := range st.Notes {
		fmt.Fprintf(w, "Note:        %s\n", n)
	}
}

func productionLine(p *JSONProduction) string {
	if p == nil {
		return "unknown"
	}
	r, d := p.Release, p.Deployment
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
	if p.Source == fromDeployer {
		by = "as the deployer says"
	}
	return s + ", " + by
}

func printLastRun(w io.Writer, run *JSONLastRun, name string) {
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
	when := "started " + rfc3339(time.Time(run.StartedAt))
	if run.DurationMS != nil && *run.DurationMS > 0 {
		when += fmt.Sprintf(", took %s", (time.Duration(*run.DurationMS) * time.Millisecond).Round(time.Second))
	}
	fmt.Fprintf(w, "             %s\n", when)
	if d := run.Deployment; d != nil {
		fmt.Fprintf(w, "             deployment %s %s\n", d.Provider, shortID(d.ID))
	}
	if line := rolloutLine(run.Rollout); line != "" {
		fmt.Fprintf(w, "             rollout %s\n", line)
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

// rolloutLine says where a staged rollout got to: "stage 2 of 3 (25% of
// traffic), passed".
func rolloutLine(r *JSONRollout) string {
	if r == nil || len(r.Stages) == 0 {
		return ""
	}
	i := min(max(r.Current, 0), len(r.Stages)-1)
	stage := r.Stages[i]
	line := fmt.Sprintf("stage %d of %d reached (%d%% of traffic)", i+1, max(r.Total, len(r.Stages)), stage.Percent)
	switch {
	case r.Completed:
		return line + ", completed"
	case r.Aborted:
		return line + ", aborted"
	case stage.Verdict != "":
		return line + ", " + stage.Verdict
	}
	return line + ", in progress"
}

func lockLine(l JSONLock) string {
	if !l.Held {
		return "free: no run is going on"
	}
	h := lock.Holder{PID: l.PID, Host: l.Host, Command: l.Command, Started: time.Time(l.StartedAt), Doing: l.Doing}
	if h.PID == 0 {
		return "held by a run that has not said who it is"
	}
	return "held by " + h.String()
}
