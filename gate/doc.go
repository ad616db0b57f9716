// Package gate decides whether a release may ship, and records in
// Spec-Flow's state file what the release did.
//
// SpecFlow reads the release gates from a Spec-Flow state.yaml; StateWriter
// writes the run back into the same file, in the same dialect, as
// Spec-Flow's own ship scripts do. Static, Func and All let programs plug
// in their own gates.
//
// # The state file and its dialects
//
// The file is specs/NNN-slug/state.yaml (epics/NNN-slug/state.yaml for an
// epic): the highest-numbered one, unless SpecFlow.Path names it. Spec-Flow
// writes it in several shapes; both types accept these:
//
//	runtime     workflow-state.sh (what /feature writes): workflow.{phase, status,
//	            completed_phases, failed_phases, manual_gates, phase_timing},
//	            deployment.{staging,production}.*, quality_gates.<gate>.passed
//	template    workflow-state-template.yaml and its filled examples: top-level
//	            phase, status, completed_phases, last_updated, manual_gates.*,
//	            deployment.{model,version,staging,production}
//	minimal     feature-state.template.yaml, epic-state.template.yaml: status,
//	            phases.<phase>: pending|in-progress|done|blocked, last_updated
//	list        create-new-feature.sh: phases: [{name, status, started_at}],
//	            current_phase
//	recovered   ship-recover.sh: version, status, phases.<phase>.status,
//	            workflow.current_phase, deployment.production.*
//	skills      the production skill's prose: current_phase,
//	            manual_gates.staging_validation.status, quality_gates.rollback.status
//
// The file is read as a YAML decoder reads it: aliases and merge keys
// ("<<: *defaults") are followed, a key written in a mapping wins over one
// merged into it, and a mapping that holds a key twice is an error naming
// both lines (readers disagree on which one counts, so a failed gate could
// ship). A file must hold one YAML document, a mapping, and be at most
// MaxStateFileSize (1 MiB; a larger one is refused before it is read).
//
// # Gates
//
// SpecFlow reports these results, each naming the key that decided, its
// line, the value found and the value required:
//
//	staging_deployed     deployment.staging.deployed must be true, or
//	                     deployment.staging.deployed_at must hold a time; no
//	                     result when the file records neither
//	staging_validation   the first present of manual_gates.staging_validation.status,
//	                     workflow.manual_gates.{staging_validation,validate_staging,
//	                     validate-staging}.status, ... must be approved
//	rollback_capability  quality_gates.rollback.status == passed, or
//	                     quality_gates.rollback_capability.passed == true, or
//	                     manual_gates.staging_validation.rollback_tested == true
//	phase                advisory (a warning) unless SpecFlow.RequirePhase: the
//	                     first present of current_phase, workflow.phase, phase,
//	                     workflow.current_phase must be ship-prod, validate-staging,
//	                     deploy-prod or ship (optimize too for direct-prod);
//	                     "ship:" is ignored
//
// # Writing the run back
//
// StateWriter is a shipprod.Reporter: the pipeline calls it after the
// health checks and again after the monitor's verdict or the rollback, so
// the file says what the run ended as. What it writes depends on the
// outcome:
//
//	outcome                  phase      production block
//	shipped, not-verified    completed  the release as deployed
//	unhealthy                failed     the release as deployed (it still runs)
//	rolled-back              failed     what runs again, and rollback_*
//	released (no deployer)   running    the release's tag, not deploy fields
//	failed                   failed     as deployed, when the deploy happened
//	interrupted              running    as deployed, when the deploy happened
//	blocked, nothing to release, or failed or interrupted before the version
//	commit, the tag or the deploy: nothing is written.
//
// The production block is deployment.production (created, with deployment,
// where the file has none, as ship-prod-workflow.sh's yq does). Its keys,
// in this order; missing ones are added after the block's last key, keys
// with no value in the Result are left as they are:
//
//	deployed            true; only where the file has the key (runtime dialect)
//	version             "1.1.0", no "v" (what ship-prod-workflow.sh writes)
//	previous_version    what production ran before this release
//	tag                 "v1.1.0"
//	tag_created_at      when this run created the tag (RFC 3339, UTC)
//	deployed_at         when the deploy finished
//	url                 the deployment's URL
//	deployment_id       the provider's id (dpl_…, a run id, a commit)
//	github_release_url  the hosted release page
//	outcome             shipped, not-verified, unhealthy, rolled-back, released, …
//	rollback_from       the rolled-back tag      (ship-rollback.sh's keys)
//	rollback_to         the restored tag
//	rollback_at         when the rollback finished
//	rollback_reason     why, on one line
//
// Credentials in a URL (https://user:token@host) are written as ***: the
// state file is committed with the feature.
//
// After a rollback the block says what production runs again, as
// ship-rollback.sh sets version to its target: version, tag, deployment_id,
// url and deployed_at are the restored release's; tag_created_at and
// github_release_url are set to null when they hold the rolled-back
// release's (shipprod does not know the restored one's). The version
// fields Spec-Flow's finalization reads outside the block are updated where
// the file has them: deployment.version (template) and the top-level version
// (recovered).
//
// The phase fields: every one the file has is updated in its own shape, and
// none is added that the file does not have. The production phase is
// ship-prod (deploy-prod when the deployment model is direct-prod):
//
//	runtime     workflow.phase: ship:ship-prod; workflow.status:
//	            completed|failed|in_progress; the phase is added to
//	            workflow.completed_phases or workflow.failed_phases and taken
//	            out of the other; workflow.phase_timing."ship:ship-prod":
//	            started_at, status, and completed_at and duration_seconds once
//	            it ended; feature.last_updated
//	template    phase: ship-prod; status: completed|failed|in_progress;
//	            completed_phases gains or loses ship-prod; last_updated
//	minimal     status: shipped|blocked|in-progress; phases.ship:
//	            done|blocked|in-progress; last_updated
//	list        current_phase: ship-prod; the phases item named ship-prod gets
//	            the status completed|failed|in_progress (added with started_at
//	            when missing)
//	recovered   workflow.current_phase: ship; status and phases.ship.status:
//	            completed|failed|in_progress
//	skills      current_phase: ship-prod
//
// The file is edited in place: the text changes only where a value changes
// or a key is added, so comments, blank lines, key order, quoting, anchors
// and keys shipprod does not know stay as they were. A value keeps its
// quoting; a new text value is quoted like the first value of the same key
// name in the file, else like most values around it. A flow collection
// ({…}, […]) that changes is rewritten on its line in flow style, as yq
// leaves it. A mapping reached through an alias becomes a mapping that
// merges the alias ("<<: *defaults") and holds the new keys, so the anchored
// mapping does not change. The new text must read back as exactly the
// intended values, or nothing is written; the file is replaced atomically
// and keeps its permissions. A file that is not valid YAML (Spec-Flow's
// template with its {PLACEHOLDERS}) is refused with its name and line.
//
// A shipped run on the runtime initializer's file changes these lines:
//
//	-10:   last_updated: $(date -u +%Y-%m-%dT%H:%M:%SZ)
//	+10:   last_updated: 2025-12-01T10:04:30Z
//	-16:   phase: spec-flow
//	-17:   status: in_progress  # Options: in_progress, completed, failed, pending
//	-18:   completed_phases: []
//	+16:   phase: ship:ship-prod
//	+17:   status: completed  # Options: in_progress, completed, failed, pending
//	+18:   completed_phases: ['ship:ship-prod']
//	-21:   phase_timing: {}
//	+21:   phase_timing: {'ship:ship-prod': {started_at: "2025-12-01T10:00:00Z", completed_at: "2025-12-01T10:04:30Z", duration_seconds: 270, status: completed}}
//	-38:     deployed: false
//	-39:     version: null
//	-40:     url: null
//	+38:     deployed: true
//	+39:     version: 1.1.0
//	+40:     url: https://app.example.com
//	+42:     previous_version: 1.0.0
//	+43:     tag: v1.1.0
//	+44:     tag_created_at: 2025-12-01T10:01:05Z
//	+45:     deployed_at: 2025-12-01T10:04:00Z
//	+46:     deployment_id: dpl_new
//	+47:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
//	+48:     outcome: shipped
//
// StateConfig is the configuration section for it (state.write: false turns
// it off).
package gate
