package notify

import (
	"strings"
	"unicode/utf8"

	"github.com/shipprod/shipprod"
)

// Slack's limits (api.slack.com/reference/block-kit/blocks): a header block's
// plain_text holds at most 150 characters, a section's text at most 3000.
// The top-level text is capped at the same 3000 so that it stays readable
// as a notification and in the chat tools that show only it.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackTextMax    = 3000
)

// slackPayload is the body of a Slack incoming webhook: text, shown in
// notifications and by Slack-compatible receivers that ignore blocks, and
// the blocks Slack lays the message out with.
type slackPayload struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type  string `json:"type"` // plain_text or mrkdwn
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// slackEmoji marks each outcome in the header; the shortcodes are standard
// in Slack, Mattermost and Discord alike.
var slackEmoji = map[shipprod.Outcome]string{
	shipprod.OutcomeShipped:          ":white_check_mark:",
	shipprod.OutcomeNotVerified:      ":warning:",
	shipprod.OutcomeReleased:         ":label:",
	shipprod.OutcomeRolledBack:       ":leftwards_arrow_with_hook:",
	shipprod.OutcomeUnhealthy:        ":rotating_light:",
	shipprod.OutcomeBlocked:          ":no_entry:",
	shipprod.OutcomeNothingToRelease: ":heavy_minus_sign:",
	shipprod.OutcomeFailed:           ":x:",
	shipprod.OutcomeInterrupted:      ":double_vertical_bar:",
}

// SlackJSON renders m as the JSON body of a Slack incoming webhook.
func SlackJSON(m Message) ([]byte, error) {
	return encodeJSON(slackMessage(m))
}

func slackMessage(m Message) slackPayload {
	title := strings.TrimSpace(slackEmoji[m.Outcome] + " " + m.Title)
	p := slackPayload{Text: truncate(slackFallback(m), slackTextMax)}
	p.Blocks = append(p.Blocks, slackBlock{Type: "header",
		Text: &slackText{Type: "plain_text", Text: truncate(title, slackHeaderMax), Emoji: true}})
	p.Blocks = append(p.Blocks, section(slackSummary(m)))
	for i, a := range m.Actions {
		s := "• " + mrkdwn(a.Text) + slackCommands(a.Commands)
		if i == 0 {
			s = "*What to do*\n" + s
		}
		p.Blocks = append(p.Blocks, section(s))
	}
	ctx := slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: "Outcome: *" + mrkdwn(string(m.Outcome)) + "*"}}}
	for _, l := range m.Links {
		ctx.Elements = append(ctx.Elements, slackText{Type: "mrkdwn", Text: mrkdwn(l.Label) + ": " + mrkdwn(l.URL)})
	}
	p.Blocks = append(p.Blocks, ctx)
	return p
}

func section(text string) slackBlock {
	return slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(text, slackSectionMax)}}
}

func slackSummary(m Message) string {
	var b strings.Builder
	b.WriteString(mrkdwn(m.Summary))
	for _, d := range m.Details {
		b.WriteString("\n• " + mrkdwn(d))
	}
	return b.String()
}

func slackCommands(cmds []string) string {
	if len(cmds) == 0 {
		return ""
	}
	esc := make([]string, len(cmds))
	for i, c := range cmds {
		esc[i] = mrkdwn(c)
	}
	return "\n```\n" + strings.Join(esc, "\n") + "\n```"
}

// slackFallback is the whole message in mrkdwn, for the top-level text.
func slackFallback(m Message) string {
	var b strings.Builder
	b.WriteString("*" + mrkdwn(m.Title) + "*\n" + slackSummary(m))
	for i, a := range m.Actions {
		if i == 0 {
			b.WriteString("\n*What to do*")
		}
		b.WriteString("\n• " + mrkdwn(a.Text) + slackCommands(a.Commands))
	}
	for _, l := range m.Links {
		b.WriteString("\n" + mrkdwn(l.Label) + ": " + mrkdwn(l.URL))
	}
	return b.String()
}

// mrkdwn escapes the three characters Slack parses as control characters
// (api.slack.com/reference/surfaces/formatting, "Escaping text": &, < and
// >). It also keeps text from the run from mentioning <!channel>.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func mrkdwn(s string) string { return mrkdwnEscaper.Replace(s) }

// truncate cuts s to at most n characters, ending it with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
