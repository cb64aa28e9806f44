package chaos

import (
	"slices"
	"sort"
)

// Cause is why one event's email or domain event went out more than once.
type Cause string

// The causes of a duplicate send. Every one but CauseUnexplained is a
// crash between a send and its checkpoint, which the design accepts: SES
// and EventBridge are not idempotent, so a retry of an attempt whose
// completed send was not recorded sends again.
const (
	// CauseInjectedCrash: the attempt "crashed" right after the real send
	// (an injected fault), so the step was not recorded.
	CauseInjectedCrash Cause = "injected crash after the send"
	// CauseCheckpointLost: the send completed, but the attempt's final
	// write, which records the completed steps, failed (a network fault).
	CauseCheckpointLost Cause = "checkpoint write failed after the send"
	// CauseLeaseLost: the send completed, but the attempt outlived its
	// lease and another attempt took the event over before it could record
	// the step.
	CauseLeaseLost Cause = "lease lost after the send"
	// CauseUnexplained: none of the above; a bug.
	CauseUnexplained Cause = "unexplained"
)

// ExplainDuplicates returns the cause of each extra send of one event: for
// every send followed by another, the cause is read from the attempt that
// made it. sends are the event's sends of one kind (emails, or domain
// events); attempts are the event's attempts; crash is the injected fault
// kind that counts as a crash after this kind of send; step is the
// handler step that sends it. It returns nil when the event was sent at
// most once.
func ExplainDuplicates(sends []Sent, attempts []Attempt, crash, step string) []Cause {
	if len(sends) < 2 {
		return nil
	}
	sends = slices.Clone(sends)
	sort.SliceStable(sends, func(i, j int) bool { return sends[i].At.Before(sends[j].At) })
	byN := map[int]Attempt{}
	for _, a := range attempts {
		byN[a.N] = a
	}
	perAttempt := map[int]int{}
	for _, s := range sends {
		perAttempt[s.Attempt]++
	}
	causes := make([]Cause, 0, len(sends)-1)
	for _, s := range sends[:len(sends)-1] {
		a, ok := byN[s.Attempt]
		switch {
		case !ok || perAttempt[s.Attempt] > 1:
			causes = append(causes, CauseUnexplained)
		case a.Crashed(crash):
			causes = append(causes, CauseInjectedCrash)
		case a.Finish == nil:
			causes = append(causes, CauseUnexplained)
		case a.Finish.Conflict:
			causes = append(causes, CauseLeaseLost)
		case a.Finish.Err != "":
			causes = append(causes, CauseCheckpointLost)
		case !slices.Contains(a.Finish.Steps, step):
			causes = append(causes, CauseUnexplained)
		default:
			// The step was recorded, and still sent again.
			causes = append(causes, CauseUnexplained)
		}
	}
	return causes
}

// FinalDecision returns the decision of the event's last attempt that
// reached one (see Attempt.Notified); ok is false when no attempt decided.
// When that attempt resumed after an earlier one, addressed holds only if
// every attempt back to the one that ran the order step had a customer
// address: the email step may have run (and sent nothing) in any of them.
func FinalDecision(attempts []Attempt) (notify, addressed, ok bool) {
	addressed = true
	for i := len(attempts) - 1; i >= 0; i-- {
		n, a, decided := attempts[i].Notified()
		if !decided {
			continue
		}
		if !ok {
			notify, ok = n, true
		}
		addressed = addressed && a
		if !attempts[i].Resumed {
			break
		}
	}
	return notify, addressed && ok, ok
}
