package sms

import "strings"

// keyword is what a whole inbound text asks for.
type keyword int

const (
	kwNone  keyword = iota // an ordinary reply
	kwStop                 // opt out of SMS
	kwStart                // opt back in
	kwHelp                 // send the practice's help text
	kwYes                  // confirm the reminder that asked
	kwNo                   // decline the reminder that asked
)

var keywords = map[string]keyword{
	// Twilio's opt-out keywords (it blocks the sender on them), plus forms a
	// patient plainly means the same way. Opt-out matching is deliberately
	// generous: stopping texts someone asked to stop is the safe mistake.
	"STOP": kwStop, "STOPALL": kwStop, "STOP ALL": kwStop, "UNSUBSCRIBE": kwStop,
	"CANCEL": kwStop, "END": kwStop, "QUIT": kwStop,
	"OPTOUT": kwStop, "OPT OUT": kwStop, "REVOKE": kwStop,
	// Opt-in. Twilio also opts a number back in on YES; Karere does not,
	// because YES answers a reminder (see doc.go).
	"START": kwStart, "UNSTOP": kwStart,
	"HELP": kwHelp, "INFO": kwHelp,
	// Reminder answers, in English and te reo Māori (āe, kāo).
	"Y": kwYes, "YES": kwYes, "ĀE": kwYes, "AE": kwYes,
	"N": kwNo, "NO": kwNo, "KĀO": kwNo, "KAO": kwNo,
}

// parseKeyword matches the whole body, case-insensitively, ignoring
// surrounding space, runs of inner space and trailing full stops or
// exclamation marks ("Stop.", " yes! "). Anything longer ("no thanks",
// "stop please") is an ordinary reply.
func parseKeyword(body string) keyword {
	s := strings.TrimSpace(body)
	s = strings.TrimRight(s, ".!")
	s = strings.ToUpper(strings.Join(strings.Fields(s), " "))
	return keywords[s]
}
