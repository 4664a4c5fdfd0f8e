package email

import (
	"strings"
	"testing"
	"time"
)

func TestStripQuoted(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "no quote",
			in:   "thanks, Friday\n",
			want: "thanks, Friday",
		},
		{
			name: "gmail",
			in: "thanks, Friday\r\n\r\nOn Thu, 4 Dec 2025 at 10:30, Kōwhai Health <reply+abc@reply.karere.nz> wrote:\r\n\r\n" +
				"> Kia ora Hemi,\r\n> Your repeat prescription is ready.\r\n>\r\n",
			want: "thanks, Friday",
		},
		{
			name: "gmail attribution wrapped over two lines",
			in:   "Kia ora, I'll come Friday.\n\nOn Thu, Dec 4, 2025 at 10:30 AM Kōwhai Health <\nreply+abcdefghijklmnop@reply.karere.nz> wrote:\n\n> Kia ora Hemi,\n",
			want: "Kia ora, I'll come Friday.",
		},
		{
			name: "gmail quote without '>' (from HTML)",
			in:   "Yes please\n\nOn Thu, 4 Dec 2025 at 10:30, Kōwhai Health <reply+abc@reply.karere.nz> wrote:\nKia ora Hemi,\nYour repeat prescription is ready.",
			want: "Yes please",
		},
		{
			name: "outlook desktop",
			in: "Thank you, I will pick it up tomorrow.\r\n\r\nHemi\r\n\r\n-----Original Message-----\r\nFrom: Kōwhai Health <reply+abc@reply.karere.nz>\r\n" +
				"Sent: Thursday, 4 December 2025 10:30 AM\r\nTo: hemi@example.net\r\nSubject: Your prescription\r\n\r\nKia ora Hemi,\r\n",
			want: "Thank you, I will pick it up tomorrow.\n\nHemi",
		},
		{
			name: "outlook.com underscores and header block",
			in: "Ka pai, see you then\n\nGet Outlook for Android\n________________________________\nFrom: Kōwhai Health <reply+abc@reply.karere.nz>\n" +
				"Sent: Thursday, December 4, 2025 10:30:00 AM\nTo: Hemi <hemi@example.net>\nSubject: Reminder\n\nKia ora Hemi,\n",
			want: "Ka pai, see you then",
		},
		{
			name: "outlook header block without separator, bold markup",
			in:   "Confirmed.\n\n*From:* Kōwhai Health <reply+abc@reply.karere.nz>\n*Sent:* Thursday, 4 December 2025 10:30\n*To:* Hemi\n\nKia ora",
			want: "Confirmed.",
		},
		{
			name: "apple mail ios",
			in: "Sounds good\n\nSent from my iPhone\n\n> On 4 Dec 2025, at 10:30 AM, Kōwhai Health <reply+abc@reply.karere.nz> wrote:\n> \n" +
				"> Kia ora Hemi,\n> Your appointment is on Friday.\n",
			want: "Sounds good",
		},
		{
			name: "apple mail macos",
			in:   "See you Friday.\n\n> On 4 Dec 2025, at 10:30, Kōwhai Health <reply+abc@reply.karere.nz> wrote:\n>\n> Kia ora Hemi,\n",
			want: "See you Friday.",
		},
		{
			name: "thunderbird",
			in: "Thanks for letting me know.\n\nOn 4/12/25 10:30 am, Kōwhai Health wrote:\n> Kia ora Hemi,\n>\n> Your results are in.\n\n" +
				"-- \nHemi Walker\nPh 04 555 0100\n",
			want: "Thanks for letting me know.",
		},
		{
			name: "signature only",
			in:   "Will do\n-- \nHemi Walker\n021 555 0100",
			want: "Will do",
		},
		{
			name: "inline answers between quoted lines",
			in: "On Thu, 4 Dec 2025 at 10:30, Kōwhai Health <reply+abc@reply.karere.nz> wrote:\n> Can you come on Friday?\n" +
				"Yes, Friday is fine.\n> Do you need a new prescription?\nNo thanks.\n",
			want: "Yes, Friday is fine.\nNo thanks.",
		},
		{
			name: "name-only attribution followed by quote",
			in:   "Thanks!\n\nKōwhai Health <reply+abc@reply.karere.nz> wrote:\n> Kia ora Hemi\n",
			want: "Thanks!",
		},
		{
			name: "patient's own 'wrote:' is kept",
			in:   "My daughter wrote:\nshe has a rash since Monday",
			want: "My daughter wrote:\nshe has a rash since Monday",
		},
		{
			name: "sentence starting with On is kept",
			in:   "On Friday I can't come.\nCan we move it to Monday?",
			want: "On Friday I can't come.\nCan we move it to Monday?",
		},
		{
			name: "te reo Māori attribution",
			in:   "Kei te pai, ka kite\n\nI te Rāpare, 4 Hak 2025 10:30, ka tuhi a Kōwhai Health <reply+abc@reply.karere.nz>:\n> Kia ora Hemi\n",
			want: "Kei te pai, ka kite",
		},
		{
			name: "french attribution",
			in:   "Merci\n\nLe jeu. 4 déc. 2025 à 10:30, Kōwhai Health <reply+abc@reply.karere.nz> a écrit :\n> Kia ora\n",
			want: "Merci",
		},
		{
			name: "samsung original message",
			in:   "ok\n\n-------- Original message --------\nFrom: Kōwhai Health <reply+abc@reply.karere.nz>\nDate: 4/12/25 10:30 (GMT+12:00)\n",
			want: "ok",
		},
		{
			name: "forwarded",
			in:   "fyi\n\n---------- Forwarded message ---------\nFrom: someone\n",
			want: "fyi",
		},
		{
			name: "only quoted text",
			in:   "> Kia ora Hemi\n> Your prescription is ready\n",
			want: "",
		},
		{
			name: "empty",
			in:   "",
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripQuoted(tt.in); got != tt.want {
				t.Errorf("StripQuoted() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// Adversarial replies must cost linear time: a reply is up to 1 MiB of
// text. Four times the input may take about four times as long, not
// sixteen.
func TestStripQuotedLinear(t *testing.T) {
	units := map[string]string{
		"inline attributions": "On Mon, Aroha wrote:\n> q\na\n",
		"header lookalikes":   "From: x\n",
		"attribution starts":  "On \n",
		"quoted":              "> x\n",
	}
	cost := func(in string) time.Duration {
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			StripQuoted(in)
			htmlToText(strings.ReplaceAll(in, "\n", "<blockquote><br>"))
			best = min(best, time.Since(start))
		}
		return best
	}
	for name, unit := range units {
		n := (256 << 10) / len(unit)
		small, large := cost(strings.Repeat(unit, n/4)), cost(strings.Repeat(unit, n))
		if large > 10*small+10*time.Millisecond {
			t.Errorf("%s: %v for 256 KiB, %v for 64 KiB: not linear", name, large, small)
		}
	}
}
