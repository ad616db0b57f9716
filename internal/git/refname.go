package git

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidRefName means a tag or branch name is not a valid git ref name.
var ErrInvalidRefName = errors.New("invalid git ref name")

// refNameProblem says why ref breaks a rule of `git check-ref-format` (see
// `git help check-ref-format`), or returns "" for a valid name. The rules
// are checked here rather than by running git: a check that starts no
// process is quick and cannot be cut short by a cancelled context, which
// once turned a cancellation into an "invalid ref name" error.
//
// ref must be a full name ("refs/heads/main"): like git without
// --allow-onelevel, a name needs at least two components.
func refNameProblem(ref string) string {
	switch {
	case ref == "":
		return "it is empty"
	case ref == "@":
		return `it is the single character "@"`
	case strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/"):
		return "it begins or ends with a slash"
	case strings.HasSuffix(ref, "."):
		return "it ends with a dot"
	case strings.Contains(ref, ".."):
		return `it contains ".."`
	case strings.Contains(ref, "@{"):
		return `it contains "@{"`
	case !strings.Contains(ref, "/"):
		return "it has a single component (a full name such as refs/heads/… is needed)"
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; c < 0o40 || c == 0o177 || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return fmt.Sprintf("it contains %q", string(c))
		}
	}
	for _, comp := range strings.Split(ref, "/") {
		switch {
		case comp == "":
			return "it contains consecutive slashes"
		case strings.HasPrefix(comp, "."):
			return fmt.Sprintf("component %q begins with a dot", comp)
		case strings.HasSuffix(comp, ".lock"):
			return fmt.Sprintf("component %q ends with .lock", comp)
		}
	}
	return ""
}

// CheckRefFormat validates a full ref name ("refs/tags/v1.2.3") by the rules
// of `git check-ref-format`, without running git. A name starting with a
// dash is refused too, so that it can never be read as an option.
//
// The context is not used: the check once ran git and callers still pass
// one.
func CheckRefFormat(_ context.Context, ref string) error {
	if strings.HasPrefix(ref, "-") {
		return fmt.Errorf("%w: %q starts with a dash", ErrInvalidRefName, ref)
	}
	if why := refNameProblem(ref); why != "" {
		return fmt.Errorf("%w: %q: %s", ErrInvalidRefName, ref, why)
	}
	return nil
}

// CheckTagName validates a tag name ("v1.2.3"). The context is not used
// (see CheckRefFormat).
func CheckTagName(_ context.Context, tag string) error {
	return checkShortName("tag", "refs/tags/", tag)
}

// CheckBranchName validates a branch name ("main", "production"). The
// context is not used (see CheckRefFormat).
func CheckBranchName(_ context.Context, branch string) error {
	return checkShortName("branch", "refs/heads/", branch)
}

// checkShortName validates name as the ref prefix+name, naming the kind of
// ref in the error.
func checkShortName(kind, prefix, name string) error {
	if strings.HasPrefix(name, "refs/") {
		return fmt.Errorf("%w: %s %q: give the %s name without %s", ErrInvalidRefName, kind, name, kind, prefix)
	}
	if strings.HasPrefix(name, "-") {
		return fmt.Errorf("%w: %s %q starts with a dash", ErrInvalidRefName, kind, name)
	}
	if name == "" {
		return fmt.Errorf("%s %q: %w (it is empty)", kind, name, ErrInvalidRefName)
	}
	if why := refNameProblem(prefix + name); why != "" {
		return fmt.Errorf("%s %q: %w (%s)", kind, name, ErrInvalidRefName, why)
	}
	return nil
}
