package shipprod

import (
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
// health with the Pipeline's HealthChecker. It is the one rollback of
// shipprod: the Pipeline calls it when production is found unhealthy, and a
// program may call it to roll back a release by hand. The report says what
// was done even when err is not nil.
func (p *Pipeline) Rollback(ctx context.Context, failed Deployment, to Release, reason string) (*RollbackReport, error) {
	report, _, err := p.rollBack(ctx, failed, to, reason)
	report.Manual = true
	return report, err
}

// rollBack is Rollback, with a warning for what could not be verified.
func (p *Pipeline) rollBack(ctx context.Context, failed Deployment, to Release, reason string) (*RollbackReport, string, error) {
	clock := p.clock()
	report := &RollbackReport{Reason: reason, Target: to, StartedAt: clock.Now()}
	defer func() { report.FinishedAt = clock.Now() }()
	rb, ok := DeployerAs[Rollbacker](p.Deployer)
	if !ok {
		report.Error = ErrCannotRollback.Error()
		return report, "", fmt.Errorf("deployer %s: %w", describe(p.Deployer), ErrCannotRollback)
	}
	warning, err := p.restore(ctx, rb, report, failed, to)
	if err != nil {
		report.Error = err.Error()
	}
	if report.Restored.ID != "" {
		warning = joinWarnings(warning, p.afterRollback(ctx, report, failed))
	}
	return report, warning, err
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

// restore rolls back and checks the restored version's health.
func (p *Pipeline) restore(ctx context.Context, rb Rollbacker, report *RollbackReport, failed Deployment, to Release) (string, error) {
	restored, err := rb.Rollback(ctx, failed, to)
	if err != nil {
		return "", err
	}
	report.Restored = restored
	if p.Health == nil {
		return "restored version not health-checked: no HealthChecker configured", nil
	}
	hr, err := p.Health.Check(ctx, to, restored)
	if err != nil {
		return "", fmt.Errorf("checking the restored version: %w", err)
	}
	report.Health = &hr
	if !hr.OK() {
		return "", fmt.Errorf("restored version %s is unhealthy too: %w", to.Version, &HealthCheckError{Report: hr})
	}
	return "", nil
}
