package version

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
)

// Config is the `version:` section of shipprod.yaml. Its zero value means:
// decide the bump from Conventional Commits and the CHANGELOG's Unreleased
// section, tags "vX.Y.Z", a first release 0.1.0, write package.json and
// VERSION when they exist, release CHANGELOG.md when it exists, and commit
// with "chore(release): vX.Y.Z".
type Config struct {
	// Bump is "auto" (the default: decided from the sources in BumpFrom),
	// "major", "minor", "patch", or an exact version such as "3.0.0" or
	// "3.0.0-beta.1". A forced bump is checked against the sources in
	// BumpFrom all the same: one that gives a lower version than they ask
	// for is refused with a *BumpTooLowError (see AllowLowerBump).
	Bump string `yaml:"bump"`
	// AllowLowerBump releases a forced Bump even when the commits or the
	// CHANGELOG's Unreleased section ask for a higher version (a forced
	// minor with a breaking commit). Each such release says so in its
	// warnings and reasons, naming the commits and lines it overrode.
	AllowLowerBump bool `yaml:"allow_lower_bump"`
	// Prerelease makes the release a pre-release with this identifier:
	// "rc" gives 2.7.0-rc.1, then 2.7.0-rc.2. Leave it empty to release (or
	// promote 2.7.0-rc.2 to) 2.7.0.
	Prerelease string `yaml:"prerelease"`
	// TagPrefix precedes the version in tag names. nil means "v"; point it at
	// "" for bare "1.2.3" tags, or at "app/v" for a monorepo package.
	TagPrefix *string `yaml:"tag_prefix"`
	// Initial is the version of the first release, when no tag and no version
	// file names a version. Default 0.1.0.
	Initial string `yaml:"initial"`
	// Files are the files that hold the version. A plain path picks its
	// writer by name: package.json (with package-lock.json and
	// npm-shrinkwrap.json beside it, when present), any other *.json (the
	// top-level "version" field), VERSION / VERSION.txt / version.txt (the
	// whole file), *.go (`const Version = "x.y.z"`). Any other file needs a
	// Pattern. nil (the key left out) means package.json and VERSION when
	// they exist; an empty list means none.
	Files []File `yaml:"files"`
	// Changelog is the Keep a Changelog file to release. "" means
	// CHANGELOG.md; "-" means none. A missing file is not written.
	Changelog string `yaml:"changelog"`
	// GenerateChangelog writes entries generated from the commits (grouped
	// by type) into the released section when Unreleased has none.
	GenerateChangelog bool `yaml:"generate_changelog"`
	// CommitMessage is the bump commit's message; {version}, {tag},
	// {previous_version} and {previous_tag} are replaced. Default
	// "chore(release): {tag}".
	CommitMessage string `yaml:"commit_message"`
	// BumpFrom lists where an automatic bump comes from: "commits"
	// (Conventional Commits since the last tag) and "changelog" (the
	// Unreleased section). The highest bump wins. Default both.
	BumpFrom []string `yaml:"bump_from"`
	// CurrentFrom is the order in which the current version is looked for:
	// "tag", "changelog" or a version file's path. Default
	// [tag, package.json, VERSION, changelog].
	CurrentFrom []string `yaml:"current_from"`
	// Trust names the source to believe when the sources disagree ("tag",
	// "changelog" or a version file's path). Empty means disagreement is an
	// error naming both sources.
	Trust string `yaml:"trust"`
	// Types maps commit types to the bump they make: "major", "minor",
	// "patch" or "none". Defaults: feat minor; fix, perf and revert patch;
	// every other type none (it ships when something else is releasable).
	// A breaking change is always major.
	Types map[string]string `yaml:"types"`
	// RequireConventional refuses commits that are not Conventional Commits
	// (merge commits excepted) instead of ignoring them.
	RequireConventional bool `yaml:"require_conventional"`
	// BreakingIn0x is the bump a breaking change makes while the major
	// version is 0: "minor" (default) or "major" (releases 1.0.0). Leaving
	// 0.x is otherwise explicit: bump: major, or a "Release-As: 1.0.0" footer.
	BreakingIn0x string `yaml:"breaking_in_0x"`
	// FeatureIn0x is the bump a feature makes while the major version is 0:
	// "minor" (default) or "patch".
	FeatureIn0x string `yaml:"feature_in_0x"`
	// MaxReasons caps the reasons kept for a decision (the most significant
	// first). Default 50.
	MaxReasons int `yaml:"max_reasons"`
}

// File names a file that holds the version. In YAML it is a plain path
// ("package.json") or a mapping {path, pattern}.
type File struct {
	// Path is the file's path, relative to the repository.
	Path string `yaml:"path"`
	// Pattern is a regular expression (Go syntax, multi-line mode: ^ and $
	// match at line breaks) with a named group "version", e.g.
	// `^version = "(?P<version>[^"]+)"` for a pyproject.toml. It must match
	// exactly once.
	Pattern string `yaml:"pattern"`
}

// UnmarshalYAML accepts a plain path or a {path, pattern} mapping and
// rejects unknown keys, naming their line.
func (f *File) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		f.Path = n.Value
		return nil
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: version.files: %q must be a string", v.Line, k.Value)
			}
			switch k.Value {
			case "path":
				f.Path = v.Value
			case "pattern":
				f.Pattern = v.Value
			default:
				return fmt.Errorf("line %d: version.files: unknown key %q (known keys: path, pattern)", k.Line, k.Value)
			}
		}
		return nil
	}
	return fmt.Errorf("line %d: version.files: want a path or {path, pattern}", n.Line)
}

// Default values.
const (
	DefaultTagPrefix     = "v"
	DefaultInitial       = "0.1.0"
	DefaultChangelog     = "CHANGELOG.md"
	DefaultCommitMessage = "chore(release): {tag}"
	DefaultMaxReasons    = 50
)

// Sources of an automatic bump (Config.BumpFrom).
const (
	FromCommits   = "commits"
	FromChangelog = "changelog"
)

// SourceTag names the git tags as a source of the current version
// (Config.CurrentFrom, Config.Trust).
const SourceTag = "tag"

// defaultTypes are the bumps of commit types by default.
var defaultTypes = map[string]shipprod.Bump{
	"feat":   shipprod.BumpMinor,
	"fix":    shipprod.BumpPatch,
	"perf":   shipprod.BumpPatch,
	"revert": shipprod.BumpPatch,
}

// settings is a validated Config with defaults applied.
type settings struct {
	exact        *semver.Version // bump: X.Y.Z
	bump         shipprod.Bump   // "" for auto, else major/minor/patch
	allowLower   bool            // a forced bump may be lower than the sources ask
	prerelease   string
	prefix       string
	initial      *semver.Version
	files        []versionFile
	autoFiles    bool // files were not configured: use package.json/VERSION when present
	changelog    string
	clExplicit   bool // the changelog was configured, so a missing one is an error
	generate     bool
	message      string
	fromCommits  bool
	fromLog      bool
	currentFrom  []string
	trust        string
	types        map[string]shipprod.Bump
	strict       bool
	breakingIn0x shipprod.Bump
	featureIn0x  shipprod.Bump
	maxReasons   int
}

var (
	prereleaseIDRe = regexp.MustCompile(`^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$`)
	typeNameRe     = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	placeholderRe  = regexp.MustCompile(`\{[^{}]*\}`)
)

// configError names the config key at fault.
func configError(key, format string, args ...any) error {
	return fmt.Errorf("version.%s: %s", key, fmt.Sprintf(format, args...))
}

// settings validates c and applies the defaults. Each part names the key
// at fault; the first error is returned.
func (c Config) settings() (*settings, error) {
	s := &settings{prefix: DefaultTagPrefix, changelog: DefaultChangelog, message: DefaultCommitMessage,
		maxReasons: DefaultMaxReasons, generate: c.GenerateChangelog, strict: c.RequireConventional,
		allowLower: c.AllowLowerBump}
	// In this order: bump_from needs the bump, files the changelog.
	for _, set := range []func(Config) error{
		s.setBump, s.setPrerelease, s.setTagPrefix, s.setInitial, s.setChangelog, s.setCommitMessage,
		s.setBumpFrom, s.setTypes, s.setPolicies, s.setFiles, s.setCurrentFrom,
	} {
		if err := set(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// setBump reads version.bump: auto, a level, or an exact version.
func (s *settings) setBump(c Config) error {
	switch b := strings.ToLower(strings.TrimSpace(c.Bump)); b {
	case "", "auto":
	case "major", "minor", "patch":
		s.bump = shipprod.Bump(b)
	default:
		v, err := semver.StrictNewVersion(strings.TrimPrefix(b, "v"))
		if err != nil {
			return configError("bump", "%q is not auto, major, minor, patch or a version such as 1.2.3 (%v)", c.Bump, err)
		}
		s.exact = v
	}
	// An override left behind when the bump went back to auto would
	// silently disarm the check the next time a bump is forced.
	if c.AllowLowerBump && s.bump == "" && s.exact == nil {
		return configError("allow_lower_bump", "only applies to a forced version.bump (major, minor, patch or X.Y.Z); remove it with bump: auto")
	}
	return nil
}

// setPrerelease reads version.prerelease, an identifier such as rc.
func (s *settings) setPrerelease(c Config) error {
	if c.Prerelease == "" {
		return nil
	}
	if !prereleaseIDRe.MatchString(c.Prerelease) || isNumeric(c.Prerelease[strings.LastIndex(c.Prerelease, ".")+1:]) {
		return configError("prerelease", "%q is not a pre-release identifier such as rc, beta or alpha (letters, digits and hyphens, not ending in a number)", c.Prerelease)
	}
	s.prerelease = c.Prerelease
	return nil
}

// setTagPrefix reads version.tag_prefix, which must be able to start a
// tag name.
func (s *settings) setTagPrefix(c Config) error {
	if c.TagPrefix == nil {
		return nil
	}
	s.prefix = *c.TagPrefix
	if strings.ContainsAny(s.prefix, "*?[\\ ~^:") || strings.HasPrefix(s.prefix, "/") || strings.HasPrefix(s.prefix, "-") || strings.Contains(s.prefix, "..") {
		return configError("tag_prefix", "%q cannot start a git tag name", s.prefix)
	}
	return nil
}

// setInitial reads version.initial, the first release's version.
func (s *settings) setInitial(c Config) error {
	s.initial = semver.MustParse(DefaultInitial)
	if c.Initial == "" {
		return nil
	}
	v, err := semver.StrictNewVersion(strings.TrimPrefix(c.Initial, "v"))
	if err != nil {
		return configError("initial", "%q is not a version such as 0.1.0 (%v)", c.Initial, err)
	}
	s.initial = v
	return nil
}

// setChangelog reads version.changelog: a path, "" for CHANGELOG.md, "-"
// for none.
func (s *settings) setChangelog(c Config) error {
	s.clExplicit = c.Changelog != "" && c.Changelog != "-"
	switch c.Changelog {
	case "":
	case "-":
		s.changelog = ""
	default:
		p, err := cleanPath(c.Changelog)
		if err != nil {
			return configError("changelog", "%v", err)
		}
		s.changelog = p
	}
	return nil
}

// setCommitMessage reads version.commit_message and checks its
// placeholders.
func (s *settings) setCommitMessage(c Config) error {
	if c.CommitMessage == "" {
		return nil
	}
	for _, ph := range placeholderRe.FindAllString(c.CommitMessage, -1) {
		switch ph {
		case "{version}", "{tag}", "{previous_version}", "{previous_tag}":
		default:
			return configError("commit_message", "unknown placeholder %s (use {version}, {tag}, {previous_version} or {previous_tag})", ph)
		}
	}
	if strings.TrimSpace(c.CommitMessage) == "" {
		return configError("commit_message", "is empty")
	}
	s.message = c.CommitMessage
	return nil
}

// setBumpFrom reads version.bump_from: commits and/or changelog. It needs
// the bump: with none of them, only a configured bump can decide.
func (s *settings) setBumpFrom(c Config) error {
	if c.BumpFrom == nil {
		s.fromCommits, s.fromLog = true, true
	}
	for _, f := range c.BumpFrom {
		switch strings.ToLower(f) {
		case FromCommits:
			s.fromCommits = true
		case FromChangelog:
			s.fromLog = true
		default:
			return configError("bump_from", "unknown source %q (use commits and/or changelog)", f)
		}
	}
	if c.BumpFrom != nil && !s.fromCommits && !s.fromLog && s.bump == "" && s.exact == nil {
		return configError("bump_from", "is empty and version.bump is auto: nothing could decide the bump")
	}
	return nil
}

// setTypes reads version.types over the default bumps of commit types.
func (s *settings) setTypes(c Config) error {
	s.types = map[string]shipprod.Bump{}
	for k, v := range defaultTypes {
		s.types[k] = v
	}
	for k, v := range c.Types {
		name := strings.ToLower(k)
		if !typeNameRe.MatchString(name) {
			return configError("types", "%q is not a commit type", k)
		}
		b, err := parseBump(v)
		if err != nil {
			return configError("types."+k, "%v", err)
		}
		s.types[name] = b
	}
	return nil
}

// setPolicies reads version.breaking_in_0x, version.feature_in_0x and
// version.max_reasons.
func (s *settings) setPolicies(c Config) error {
	var err error
	if s.breakingIn0x, err = parsePolicy(c.BreakingIn0x, shipprod.BumpMinor, shipprod.BumpMinor, shipprod.BumpMajor); err != nil {
		return configError("breaking_in_0x", "%v", err)
	}
	if s.featureIn0x, err = parsePolicy(c.FeatureIn0x, shipprod.BumpMinor, shipprod.BumpPatch, shipprod.BumpMinor); err != nil {
		return configError("feature_in_0x", "%v", err)
	}
	if c.MaxReasons < 0 {
		return configError("max_reasons", "%d is negative", c.MaxReasons)
	}
	if c.MaxReasons > 0 {
		s.maxReasons = c.MaxReasons
	}
	return nil
}

// setFiles reads version.files: each once, and not the changelog. Left
// out, package.json and VERSION are used when they exist.
func (s *settings) setFiles(c Config) error {
	if c.Files == nil {
		s.autoFiles = true
	}
	seen := map[string]bool{}
	for i, f := range c.Files {
		key := fmt.Sprintf("files[%d]", i)
		vf, err := newVersionFile(f)
		if err != nil {
			return configError(key, "%v", err)
		}
		if seen[vf.path] {
			return configError(key, "%q is listed twice", vf.path)
		}
		if vf.path == s.changelog {
			return configError(key, "%q is the changelog (version.changelog); it is released, not listed as a version file", vf.path)
		}
		seen[vf.path] = true
		s.files = append(s.files, vf)
	}
	return nil
}

// setCurrentFrom reads version.current_from and version.trust, the
// sources of the current version.
func (s *settings) setCurrentFrom(c Config) error {
	s.currentFrom = []string{SourceTag, "package.json", "VERSION", FromChangelog}
	if c.CurrentFrom != nil {
		s.currentFrom = nil
		for i, src := range c.CurrentFrom {
			norm, err := normalizeSource(src)
			if err != nil {
				return configError(fmt.Sprintf("current_from[%d]", i), "%v", err)
			}
			s.currentFrom = append(s.currentFrom, norm)
		}
	}
	if c.Trust != "" {
		norm, err := normalizeSource(c.Trust)
		if err != nil {
			return configError("trust", "%v", err)
		}
		s.trust = norm
	}
	return nil
}

// normalizeSource checks a current-version source name.
func normalizeSource(src string) (string, error) {
	switch strings.ToLower(src) {
	case SourceTag, "tags":
		return SourceTag, nil
	case FromChangelog:
		return FromChangelog, nil
	}
	p, err := cleanPath(src)
	if err != nil {
		return "", fmt.Errorf("%q is not tag, changelog or a file path: %v", src, err)
	}
	return p, nil
}

func parseBump(s string) (shipprod.Bump, error) {
	switch b := shipprod.Bump(strings.ToLower(s)); b {
	case shipprod.BumpMajor, shipprod.BumpMinor, shipprod.BumpPatch, shipprod.BumpNone:
		return b, nil
	}
	return "", fmt.Errorf("%q is not major, minor, patch or none", s)
}

func parsePolicy(s string, def shipprod.Bump, allowed ...shipprod.Bump) (shipprod.Bump, error) {
	if s == "" {
		return def, nil
	}
	b := shipprod.Bump(strings.ToLower(s))
	for _, a := range allowed {
		if a == b {
			return b, nil
		}
	}
	names := make([]string, 0, len(allowed))
	for _, a := range allowed {
		if !containsString(names, string(a)) {
			names = append(names, string(a))
		}
	}
	return "", fmt.Errorf("%q is not %s", s, strings.Join(names, " or "))
}

// cleanPath checks that p is a relative path inside the repository and
// returns it cleaned, with forward slashes.
func cleanPath(p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", fmt.Errorf("empty path")
	}
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%q is absolute; give a path relative to the repository", p)
	}
	c := path.Clean(filepath.ToSlash(p))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%q leaves the repository", p)
	}
	if c == "." {
		return "", fmt.Errorf("%q is not a file", p)
	}
	return c, nil
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
