package shipprod

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// TrafficShifter is implemented by Deployers that can send a share of
// production traffic to a new release and move it on in stages (a canary),
// as Vercel's Rolling Releases do. With a Pipeline.Rollout, the Pipeline
// watches each stage with the Monitor and moves on only when the stage
// passed; a failed stage aborts the rollout, which is the rollback.
type TrafficShifter interface {
	// Traffic says which share of production traffic (0–100) dep serves.
	Traffic(ctx context.Context, dep Deployment) (percent int, err error)
	// ShiftTraffic sends percent of production traffic to dep; sending
	// the share dep already serves changes nothing.
	ShiftTraffic(ctx context.Context, dep Deployment, percent int) error
	// CompleteRollout sends all traffic to dep and ends the rollout.
	CompleteRollout(ctx context.Context, dep Deployment) error
	// AbortRollout sends all traffic back to what production ran before
	// dep, and ends the rollout.
	AbortRollout(ctx context.Context, dep Deployment) error
}

// RolloutUser is implemented by TrafficShifters whose platform holds the
// stages itself (Vercel's Rolling Releases configuration): the Pipeline
// tells them its Rollout (nil without stages) before the pre-flight, in Plan
// and Run, so that they check their platform's stages against it, and a
// deploy without stages does not leave most traffic on the old release.
type RolloutUser interface {
	UseRollout(*Rollout)
}

// Rollout asks for a release to reach production in stages.
type Rollout struct {
	Stages []RolloutStage `json:"stages"`
}

// RolloutStage is one stage: the share of traffic the new release gets and
// how long it is watched before the next stage. The last stage is 100%.
type RolloutStage struct {
	Percent int           `json:"percent"`
	Watch   time.Duration `json:"watch,omitempty"`
}

func (s RolloutStage) String() string { return fmt.Sprintf("%d%%", s.Percent) }

// Validate checks that the stages rise to 100%.
func (r *Rollout) Validate() error {
	if r == nil || len(r.Stages) == 0 {
		return nil
	}
	prev := 0
	for i, s := range r.Stages {
		if s.Percent <= prev || s.Percent > 100 {
			return fmt.Errorf("rollout.stages[%d]: percent %d must be above the stage before (%d) and at most 100", i, s.Percent, prev)
		}
		if s.Watch < 0 {
			return fmt.Errorf("rollout.stages[%d]: watch %s is negative", i, s.Watch)
		}
		prev = s.Percent
	}
	if prev != 100 {
		return fmt.Errorf("rollout.stages: the last stage sends %d%% of traffic; it must be 100", prev)
	}
	return nil
}

// StageWatcher is implemented by Monitors that can watch one stage of a
// rollout: the stage's window instead of their own, with what it knows of
// the stage (the canary and the deployment it replaces, for gates that
// compare them).
type StageWatcher interface {
	WatchStage(ctx context.Context, rel Release, dep Deployment, base MonitorBaseline, stage StageInfo) (MonitorReport, error)
}

// StageInfo describes the stage being watched.
type StageInfo struct {
	// Index counts from 0; Of is the number of stages.
	Index, Of int
	Stage     RolloutStage
	// Baseline is what serves the rest of the traffic (what production ran).
	Baseline *Deployment
}

// RolloutReport is how a rollout went, stage by stage. It is journaled: a
// run resumed during a rollout goes on at the stage it was in.
type RolloutReport struct {
	Stages []StageReport `json:"stages"`
	// Current is the stage in progress or the last one reached.
	Current int `json:"current"`
	// Total is how many stages the rollout has; Stages holds those reached.
	Total     int  `json:"total"`
	Completed bool `json:"completed,omitempty"`
	Aborted   bool `json:"aborted,omitempty"`
}

// StageReport is one stage of a rollout.
type StageReport struct {
	Stage      RolloutStage  `json:"stage"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at,omitzero"`
	Verdict    Verdict       `json:"verdict,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	Monitor    MonitorReport `json:"monitor,omitzero"`
}

// shifter is the Deployer's TrafficShifter when the Pipeline asks for
// stages.
func (p *Pipeline) shifter() (TrafficShifter, bool) {
	if p.Rollout == nil || len(p.Rollout.Stages) == 0 {
		return nil, false
	}
	return DeployerAs[TrafficShifter](p.Deployer)
}

func (e *execution) skipRollout() string {
	switch {
	case e.p.Rollout == nil || len(e.p.Rollout.Stages) == 0:
		return "no rollout stages configured: the release goes to all traffic at once"
	case !hasShifter(e.p):
		return fmt.Sprintf("deployer %s cannot shift traffic in stages: the release goes to all traffic at once", describe(e.p.Deployer))
	}
	return e.skipUndeployed()
}

func hasShifter(p *Pipeline) bool { _, ok := p.shifter(); return ok }

func (e *execution) rolloutTitle() string {
	return "Rolling " + e.releaseName() + " out in stages"
}

// rolloutAction is the planned action of the rollout step.
func (e *execution) rolloutAction(impl string) Action {
	var stages []string
	for _, s := range e.p.Rollout.Stages {
		if s.Watch > 0 {
			stages = append(stages, fmt.Sprintf("%s watched for %s", s, s.Watch))
		} else {
			stages = append(stages, s.String())
		}
	}
	return Action{Kind: ActionDeploy, Target: impl,
		Description: fmt.Sprintf("move production traffic to %s in stages (%s), each stage watched by the monitor; a failed stage aborts the rollout", e.releaseName(), strings.Join(stages, ", "))}
}

// rollout walks the stages: shift the traffic, watch the stage, go on only
// when it passed. A run that resumes one goes on at the stage it was in,
// never at a higher share.
func (e *execution) rollout(ctx context.Context) (string, error) {
	sh, _ := e.p.shifter()
	dep := *e.res.Deployment
	stages := e.p.Rollout.Stages
	start := 0
	if prev := e.prevRollout(); prev != nil {
		start = min(prev.Current, len(stages)-1)
		e.res.Rollout = prev
	}
	if e.res.Rollout == nil {
		e.res.Rollout = &RolloutReport{}
	}
	e.res.Rollout.Total = len(stages)
	for i := start; i < len(stages); i++ {
		if err := e.stage(ctx, sh, dep, i); err != nil {
			return "", err
		}
	}
	e.res.Rollout.Completed = true
	e.res.Monitor = e.stagesMonitorReport()
	return "", nil
}

// resumeRollout keeps the rollout the resumed run completed: the release
// serves all traffic, and its stages were watched.
func (e *execution) resumeRollout() bool {
	prev := e.prev.Rollout
	if prev == nil || !prev.Completed {
		return false
	}
	r := *prev
	r.Stages = append([]StageReport(nil), prev.Stages...)
	e.res.Rollout = &r
	if m := e.prev.Monitor; m != nil {
		mr := *m
		e.res.Monitor = &mr
	}
	return true
}

// prevRollout is the rollout of the run this one resumes, when it stopped
// in the middle of one.
func (e *execution) prevRollout() *RolloutReport {
	if e.prev == nil || e.prev.Rollout == nil || e.prev.Rollout.Completed || e.prev.Rollout.Aborted {
		return nil
	}
	r := *e.prev.Rollout
	r.Stages = append([]StageReport(nil), r.Stages...)
	return &r
}

// stage runs stage i: shift, journal, watch.
func (e *execution) stage(ctx context.Context, sh TrafficShifter, dep Deployment, i int) error {
	st := e.p.Rollout.Stages[i]
	rep := StageReport{Stage: st, StartedAt: e.clock.Now()}
	r := e.res.Rollout
	r.Current = i
	r.Stages = append(r.Stages[:min(i, len(r.Stages))], rep)
	e.checkpoint(ctx)
	var err error
	if st.Percent == 100 {
		err = sh.CompleteRollout(ctx, dep)
	} else {
		err = sh.ShiftTraffic(ctx, dep, st.Percent)
	}
	if err != nil {
		return fmt.Errorf("stage %d of %d (%s): %w", i+1, len(e.p.Rollout.Stages), st, err)
	}
	ReportProgress(ctx, Progress{Message: fmt.Sprintf("stage %d of %d: %s of production traffic on %s", i+1, len(e.p.Rollout.Stages), st, e.releaseName())})
	if st.Watch > 0 {
		err = e.watchStage(ctx, dep, i, &r.Stages[i])
	}
	r.Stages[i].FinishedAt = e.clock.Now()
	if err == nil && r.Stages[i].Verdict == "" {
		r.Stages[i].Verdict = VerdictPassed
	}
	e.checkpoint(ctx)
	return err
}

// watchStage watches stage i with the Monitor.
func (e *execution) watchStage(ctx context.Context, dep Deployment, i int, rep *StageReport) error {
	sw, ok := e.p.Monitor.(StageWatcher)
	if !ok {
		return fmt.Errorf("stage %d watches production for %s, but the monitor %s cannot watch a stage", i+1, rep.Stage.Watch, describe(e.p.Monitor))
	}
	var base MonitorBaseline
	if e.res.Baseline != nil {
		base = *e.res.Baseline
	}
	info := StageInfo{Index: i, Of: len(e.p.Rollout.Stages), Stage: rep.Stage, Baseline: e.res.PreviousProduction}
	mr, err := sw.WatchStage(ctx, e.res.Release, dep, base, info)
	if err != nil {
		return fmt.Errorf("watching stage %d (%s): %w", i+1, rep.Stage, err)
	}
	rep.Monitor, rep.Verdict, rep.Reason = mr, mr.Verdict, mr.Reason
	if mr.Verdict == VerdictFailed {
		mr.Reason = fmt.Sprintf("stage %d of %d (%s of traffic) failed: %s", i+1, info.Of, rep.Stage, mr.Reason)
		e.res.Monitor = &mr
		return &MonitorError{Report: mr}
	}
	if mr.Verdict != VerdictPassed {
		// The stage could not be judged: do not go on blind.
		return fmt.Errorf("stage %d of %d (%s) could not be judged (%s): %s; the rollout stays at %s", i+1, info.Of, rep.Stage, mr.Verdict, mr.Reason, rep.Stage)
	}
	return nil
}

// stagesMonitorReport sums up the watched stages as the run's monitor
// report: the release was watched at each share it served.
func (e *execution) stagesMonitorReport() *MonitorReport {
	var (
		out     MonitorReport
		reasons []string
	)
	out.Verdict = VerdictPassed
	for i, s := range e.res.Rollout.Stages {
		if s.Monitor.Verdict == "" {
			continue
		}
		if out.StartedAt.IsZero() {
			out.StartedAt = s.Monitor.StartedAt
		}
		out.FinishedAt, out.Window = s.Monitor.FinishedAt, out.Window+s.Monitor.Window
		out.Gates = s.Monitor.Gates
		reasons = append(reasons, fmt.Sprintf("stage %d (%s): %s", i+1, s.Stage, s.Monitor.Reason))
	}
	if len(reasons) == 0 {
		return nil
	}
	out.Reason = strings.Join(reasons, "; ")
	return &out
}

// abortRollout is the rollback of a release still in its rollout: all
// traffic goes back to what production ran, which is then checked as any
// rollback's target is (Pipeline.undo).
func (e *execution) abortRollout(ctx context.Context, sh TrafficShifter, reason string) (string, error) {
	failed := *e.res.Deployment
	report, warning, err := e.p.undo(ctx, failed, e.rollbackTarget(), reason, func(ctx context.Context) (Deployment, error) {
		if err := sh.AbortRollout(ctx, failed); err != nil {
			return Deployment{}, fmt.Errorf("aborting the rollout: %w", err)
		}
		e.res.Rollout.Aborted = true
		if pp := e.res.PreviousProduction; pp != nil {
			return *pp, nil
		}
		return Deployment{Provider: failed.Provider, ID: failed.PreviousID}, nil
	})
	e.res.Rollback = report
	return warning, err
}
