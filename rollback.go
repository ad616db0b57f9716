package shipprod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

// ErrCannotRollback is returned by Pipeline.Rollback when the Deployer has
// no rollback capability: production must be restored by hand (the
// Deployment's RollbackSteps say how).
var ErrCannotRollback = errors.New("the deployer cannot roll back")

// Rollback returns production from the failed deployment to the release to
// (through the Deployer's Rollbacker) and checks the restored version's
// health with the Pipeline's HealthChecker; the Tagger then undoes its part
// (AfterRollbacker). It is the one rollback of shipprod: the Pipeline calls
// it when production is found unhealthy (a rollout still in progress is
// aborted instead, followed by the same checks), and a program may call it
// to roll back a release by hand. The report says what was done even when
// err is not nil; its Warnings, what could not be checked or undone.
func (p *Pipeline) Rollback(ctx context.Context, failed Deployment, to Release, reason string) (*RollbackReport, error) {
	report, _, err := p.rollBack(ctx, failed, to, reason)
	report.Manual = true
	return report, err
}

// rollBack is Rollback, with a warning for what could not be verified.
func (p *Pipeline) rollBack(ctx context.Context, failed Deployment, to Release, reason string) (*RollbackReport, string, error) {
	rb, ok := DeployerAs[Rollbacker](p.Deployer)
	restore := func(ctx context.Context) (Deployment, error) { return rb.Rollback(ctx, failed, to) }
	if !ok {
		restore = func(context.Context) (Deployment, error) {
			return Deployment{}, fmt.Errorf("deployer %s: %w", describe(p.Deployer), ErrCannotRollback)
		}
	}
	return p.undo(ctx, failed, to, reason, restore)
}

// undo runs a rollback: restore puts production back on to; then the
// restored version's health is checked and the Tagger undoes its part.
func (p *Pipeline) undo(ctx context.Context, failed Deployment, to Release, reason string, restore func(context.Context) (Deployment, error)) (*RollbackReport, string, error) {
	clock := p.clock()
	report := &RollbackReport{Reason: reason, Target: to, StartedAt: clock.Now()}
	defer func() { report.FinishedAt = clock.Now() }()
	restored, err := restore(ctx)
	if err != nil {
		report.Error = err.Error()
		return report, "", err
	}
	report.Restored = restored
	warning, err := p.checkRestored(ctx, report)
	if err != nil {
		report.Error = err.Error()
	}
	if restored.ID != "" {
		warning = joinWarnings(warning, p.afterRollback(ctx, report, failed))
	}
	if warning != "" {
		report.Warnings = append(report.Warnings, warning)
	}
	return report, warning, err
}

// checkRestored checks the health of the version a rollback restored.
func (p *Pipeline) checkRestored(ctx context.Context, report *RollbackReport) (string, error) {
	switch {
	case p.Health == nil:
		return "restored version not health-checked: no HealthChecker configured", nil
	case report.Restored.ID == "":
		return "restored version not health-checked: the deployer did not say which deployment serves it", nil
	}
	to := report.Target
	hr, err := p.Health.Check(ctx, to, report.Restored)
	if err != nil {
		return "", fmt.Errorf("checking the restored version: %w", err)
	}
	report.Health = &hr
	if !hr.OK() {
		return "", fmt.Errorf("restored version %s is unhealthy too: %w", cmp.Or(to.Version, to.Tag, to.Commit), &HealthCheckError{Report: hr})
	}
	return "", nil
}

// afterRollback lets the Tagger undo its part once production no longer
// runs the failed release; its failure is a warning.
func (p *Pipeline) afterRollback(ctx context.Context, report *RollbackReport, failed Deployment) string {
	ar, ok := p.Tagger.(AfterRollbacker)
	if !ok {
		return ""
	}
	note, err := ar.AfterRollback(ctx, Release{Version: failed.Version, Tag: failed.Tag, Commit: failed.Commit}, report.Restored)
	if note != "" {
		report.Notes = append(report.Notes, note)
	}
	if err != nil {
		return fmt.Sprintf("production was rolled back, but %s could not undo its part: %v", describe(p.Tagger), err)
	}
	return ""
}

func joinWarnings(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
