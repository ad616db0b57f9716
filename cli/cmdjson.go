package cli

import (
	"time"

	"github.com/shipprod/shipprod"
)

// The --json payloads of rollback, status, check and init. Like every line
// the CLI writes, durations are integer milliseconds (*_ms) and times
// RFC 3339.

// releaseJSON names a release.
type releaseJSON struct {
	Version     string `json:"version,omitempty"`
	Tag         string `json:"tag,omitempty"`
	Commit      string `json:"commit,omitempty"`
	PreviousTag string `json:"previous_tag,omitempty"`
}

func newReleaseJSON(r shipprod.Release) releaseJSON {
	return releaseJSON{Version: r.Version, Tag: r.Tag, Commit: r.Commit, PreviousTag: r.PreviousTag}
}

// deploymentJSON is a deployment and the release it runs.
type deploymentJSON struct {
	Provider   string      `json:"provider,omitempty"`
	ID         string      `json:"id,omitempty"`
	URL        string      `json:"url,omitempty"`
	Commit     string      `json:"commit,omitempty"`
	Release    releaseJSON `json:"release"`
	FinishedAt time.Time   `json:"finished_at,omitzero"`
	// Source is deployer or journal: who said production runs it.
	Source string `json:"source,omitempty"`
}

func newDeploymentJSON(r *running) *deploymentJSON {
	d := deploymentOf(r.Deployment)
	d.Release, d.Source = newReleaseJSON(r.Release), r.Source
	return d
}

func deploymentOf(d shipprod.Deployment) *deploymentJSON {
	return &deploymentJSON{Provider: d.Provider, ID: d.ID, URL: d.URL, Commit: d.Commit,
		Release: releaseJSON{Version: d.Version, Tag: d.Tag, Commit: d.Commit}, FinishedAt: d.FinishedAt}
}

// healthJSON is a round of health checks.
type healthJSON struct {
	Passed bool              `json:"passed"`
	Checks []healthCheckJSON `json:"checks"`
}

type healthCheckJSON struct {
	Name      string `json:"name"`
	Kind      string `json:"kind,omitempty"`
	Status    string `json:"status"`
	LatencyMS int64  `json:"latency_ms"`
	Message   string `json:"message,omitempty"`
	Error     string `json:"error,omitempty"`
}

func newHealthJSON(h *shipprod.HealthReport) *healthJSON {
	if h == nil {
		return nil
	}
	out := &healthJSON{Passed: h.OK(), Checks: []healthCheckJSON{}}
	for _, c := range h.Checks {
		out.Checks = append(out.Checks, healthCheckJSON{Name: c.Name, Kind: c.Kind, Status: string(c.Status),
			LatencyMS: c.Latency.Milliseconds(), Message: c.Message, Error: c.Error})
	}
	return out
}

// rollbackJSON is the line rollback --json writes (SchemaRollback).
type rollbackJSON struct {
	// Outcome is rolled-back (production runs the target again, even if
	// its health check failed: see error), failed (nothing changed) or
	// manual (the deployer cannot roll back: manual_steps say how).
	Outcome     string          `json:"outcome"`
	From        *deploymentJSON `json:"from,omitempty"`
	To          *releaseJSON    `json:"to,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Restored    *deploymentJSON `json:"restored,omitempty"`
	Health      *healthJSON     `json:"health,omitempty"`
	StartedAt   time.Time       `json:"started_at,omitzero"`
	FinishedAt  time.Time       `json:"finished_at,omitzero"`
	DurationMS  int64           `json:"duration_ms"`
	Reports     []string        `json:"reports,omitempty"`
	Notes       []string        `json:"notes,omitempty"`
	ManualSteps []string        `json:"manual_steps,omitempty"`
	Warnings    []string        `json:"warnings,omitempty"`
	Error       string          `json:"error,omitempty"`
}

func newRollbackJSON(r *rollbackRun, res *shipprod.Result, warnings []string) rollbackJSON {
	to := newReleaseJSON(r.target)
	out := rollbackJSON{Outcome: string(res.Outcome), From: newDeploymentJSON(r.cur), To: &to, Reason: r.reason,
		StartedAt: res.StartedAt, FinishedAt: res.FinishedAt, DurationMS: res.FinishedAt.Sub(res.StartedAt).Milliseconds(),
		Reports: res.Reports, Warnings: warnings, Error: res.Error}
	if rb := res.Rollback; rb != nil {
		if rb.Restored.ID != "" {
			out.Restored = deploymentOf(rb.Restored)
		}
		out.Health, out.Notes = newHealthJSON(rb.Health), rb.Notes
	}
	return out
}
