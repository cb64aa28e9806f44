package chaostest

import "github.com/altafinex-webhooks/receiver/internal/eventrecord"

// Cause is why an effect (an email, a domain event) reached the emulator
// more than once. SES and EventBridge are not idempotent: an effect whose
// send reached the service but whose completion was not recorded is sent
// again by the next attempt (the processor's, for a domain event) or the
// next copy of the job (the email sender's, for an email). Each cause but
// CauseUnexplained is one way that happens; CauseUnexplained is a bug.
type Cause string

// The causes of a duplicate effect.
const (
	// CauseCrash: the attempt "crashed" right after the send (injected),
	// so the step was not recorded.
	CauseCrash Cause = "injected crash after the send"
	// CauseAnswerLost: the send failed on the way back (a reset, a
	// timeout, the handler's deadline), after the service had it.
	CauseAnswerLost Cause = "the send's answer was lost after the service had it"
	// CauseSDKRetry: the SDK sent the request again after its answer was
	// lost; both reached the service.
	CauseSDKRetry Cause = "the SDK retried a send whose answer was lost"
	// CauseOutcomeLost: the send completed, but every try of the outcome
	// write that records it failed (a network fault).
	CauseOutcomeLost Cause = "the outcome write failed after the send"
	// CauseLeaseLost: the send completed, but the attempt outlived its
	// lease and another attempt took the event over.
	CauseLeaseLost Cause = "the lease was lost after the send"
	// CauseDeadline: the send completed, but the attempt was still running
	// at the Lambda deadline, which froze it before it recorded the send.
	CauseDeadline Cause = "the attempt ran into the Lambda deadline after the send"
	// The email sender's three causes (package emailjob), for an email:
	//
	// CauseSenderAnswerLost: SES had the email but the sender did not
	// learn it (the answer lost to a reset or a timeout, or a crash
	// injected right after the send), so it deferred the job, which sent
	// it again.
	CauseSenderAnswerLost Cause = "sender: SES had the email but its answer was lost; the deferred job sent it again"
	// CauseSenderStopped: SES accepted the email, but the sender stopped
	// before its SENT write held (the Lambda deadline froze it, or every
	// try of the write failed), and a copy of the job sent it again after
	// the claim's lease.
	CauseSenderStopped Cause = "sender: stopped between SES's answer and the SENT write; a copy of the job sent it again"
	// CauseSenderLeaseLost: the send outlived its claim's lease, and a copy
	// of the job claimed the email and sent it meanwhile (the SENT write
	// was refused).
	CauseSenderLeaseLost Cause = "sender: the send outlived its claim's lease; a copy of the job claimed and sent it"
	// CauseUnexplained: none of the above; a bug.
	CauseUnexplained Cause = "unexplained"
)

// Explain returns the causes of the extra deliveries of one effect: it
// reached the service delivered times where want were due, through sends
// (every send of that effect, in the order made). Each send that may have
// reached the service without its step being recorded accounts for one
// extra delivery, and each request the SDK repeated within a send for
// another; the extras are attributed to those, in order. Extras no send
// accounts for are CauseUnexplained.
func Explain(delivered, want int, sends []Send, attempts map[string][]Attempt) []Cause {
	extra := delivered - want
	if extra <= 0 {
		return nil
	}
	var possible []Cause
	for _, s := range sends {
		for range max(0, reached(s)-1) {
			possible = append(possible, CauseSDKRetry)
		}
		if c, ok := unrecorded(s, attempts); ok {
			possible = append(possible, c)
		}
	}
	out := make([]Cause, 0, extra)
	for i := range extra {
		if i < len(possible) {
			out = append(out, possible[i])
		} else {
			out = append(out, CauseUnexplained)
		}
	}
	return out
}

// unrecorded returns why the send s may have reached the service without
// its step being recorded, if it may have.
func unrecorded(s Send, attempts map[string][]Attempt) (Cause, bool) {
	if s.Path == PathSender {
		return unrecordedEmail(s)
	}
	switch s.Result {
	case InjectCrashAfter:
		return CauseCrash, true
	case InjectKill:
		return CauseDeadline, true
	case "error":
		if reached(s) == 0 {
			return "", false // never left
		}
		return CauseAnswerLost, true
	case "ok":
	default:
		return "", false // an injected failure before the send
	}
	var a *Attempt
	for i := range attempts[s.EventID] {
		if attempts[s.EventID][i].N == s.Attempt {
			a = &attempts[s.EventID][i]
		}
	}
	switch {
	case a == nil:
		return CauseUnexplained, true
	case a.Persisted(s.Step):
		return "", false
	case a.Finish == nil || a.Finish.Frozen:
		return CauseDeadline, true
	case a.Finish.Conflict:
		return CauseLeaseLost, true
	case a.Finish.Err != "":
		return CauseOutcomeLost, true
	}
	return "", false
}

// unrecordedEmail is unrecorded for an SES request of the email sender:
// recorded means its SENT write (in the same invocation) held.
func unrecordedEmail(s Send) (Cause, bool) {
	switch s.Result {
	case InjectCrashAfter:
		return CauseSenderAnswerLost, true
	case InjectKill:
		return CauseSenderStopped, true
	case "error":
		if reached(s) == 0 {
			return "", false
		}
		return CauseSenderAnswerLost, true
	case "ok":
	default:
		return "", false // a fault injected before the send
	}
	f := s.EmailFinish
	switch {
	case f == nil, f.Frozen:
		return CauseSenderStopped, true
	case f.Conflict:
		return CauseSenderLeaseLost, true
	case f.Err != "":
		return CauseSenderStopped, true
	case f.EmailStatus != eventrecord.EmailSent:
		return CauseUnexplained, true
	}
	return "", false
}

// reached counts the requests of s that left for the service (not refused
// by a frozen sandbox).
func reached(s Send) int {
	n := 0
	for _, h := range s.HTTP {
		if h.Err != ErrFrozen.Error() {
			n++
		}
	}
	return n
}
