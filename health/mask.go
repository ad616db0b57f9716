package health

import (
	"net/url"
	"sort"
	"strings"
)

// Mask is what a secret is replaced with.
const Mask = "***"

// masker replaces secrets in text. Longer secrets are replaced first, so a DSN
// is masked whole before the password inside it.
type masker struct {
	secrets []string
	r       *strings.Replacer
}

func newMasker(secrets ...string) *masker {
	m := &masker{}
	m.add(secrets...)
	return m
}

// add registers secrets (empty strings are ignored) and the parts of them
// that are secrets on their own: the password of a URL-style DSN and the
// password=… value of a key=value DSN.
func (m *masker) add(secrets ...string) {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		m.secrets = append(m.secrets, s)
		m.secrets = append(m.secrets, dsnPasswords(s)...)
	}
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	pairs := make([]string, 0, 4*len(m.secrets))
	for _, s := range m.secrets {
		pairs = append(pairs, s, Mask)
		// A secret may also show up URL-escaped (in a URL a client prints).
		for _, esc := range []string{url.QueryEscape(s), url.PathEscape(s)} {
			if esc != s {
				pairs = append(pairs, esc, Mask)
			}
		}
	}
	m.r = strings.NewReplacer(pairs...)
}

// mask returns s with every secret replaced.
func (m *masker) mask(s string) string {
	if m == nil || m.r == nil || s == "" {
		return s
	}
	return m.r.Replace(s)
}

// dsnPasswords returns the passwords inside a DSN, if it is one.
func dsnPasswords(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	// The raw user info, also when the URL does not parse.
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		authority, _, _ := strings.Cut(rest, "/")
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(authority[:at], ":"); ok && pw != "" {
				out = append(out, pw)
			}
		}
	}
	// key=value form: password=secret or password='se cret'.
	for _, key := range []string{"password=", "pass=", "pwd="} {
		rest := dsn
		for {
			i := strings.Index(strings.ToLower(rest), key)
			if i < 0 {
				break
			}
			if i > 0 && !strings.ContainsRune(" \t;&?", rune(rest[i-1])) {
				rest = rest[i+len(key):]
				continue
			}
			v := rest[i+len(key):]
			if strings.HasPrefix(v, "'") {
				if end := strings.Index(v[1:], "'"); end >= 0 {
					v = v[1 : 1+end]
				}
			} else if end := strings.IndexAny(v, " \t;&"); end >= 0 {
				v = v[:end]
			}
			if v != "" {
				out = append(out, v)
			}
			rest = rest[i+len(key):]
		}
	}
	return out
}

// redactURL returns u with any password in its user info masked.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), Mask)
		return strings.Replace(u.String(), url.QueryEscape(Mask), Mask, 1)
	}
	return raw
}
