package ops

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// EventScanner is what ListAll needs of the events table.
type EventScanner interface {
	Scan(ctx context.Context, f ddbevents.ScanFilter, fn func(eventrecord.Record) error) error
}

var _ EventScanner = (*ddbevents.Table)(nil)

// DefaultLimit is how many events a listing shows unless told otherwise.
const DefaultLimit = 50

// EventFilter selects the events a listing shows. Zero fields select
// everything.
type EventFilter struct {
	Statuses []eventrecord.Status // any of these
	Type     string               // this event type
	Since    time.Time            // updated at or after
	// Order keeps the events of one order: those whose ids are in
	// OrderEvents (the ids the order item keeps), and those whose stored
	// body (FAILED, IGNORED, REJECTED records) names the order in
	// data.object.metadata.order_id.
	Order       string
	OrderEvents []string
	// Stranded keeps only the replays that may never have sent their
	// message (see Stranded).
	Stranded bool
	Limit    int // at most this many, the newest; 0: DefaultLimit
}

// EventList is one listing: the newest Limit matching events, newest
// first, and how many matched in all.
type EventList struct {
	Events  []EventView `json:"events"`
	Matched int         `json:"matched"`
}

// ListAll pages through every record of the table that f selects and
// returns the newest f.Limit of them (by last update), newest first. At
// most twice f.Limit records are held at a time, so a large table costs
// reading, not memory.
func ListAll(ctx context.Context, sc EventScanner, f EventFilter, now time.Time) (EventList, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	var keep []eventrecord.Record
	matched := 0
	statuses := f.Statuses
	if f.Stranded && len(statuses) == 0 {
		statuses = []eventrecord.Status{eventrecord.Retrying}
	}
	err := sc.Scan(ctx, ddbevents.ScanFilter{Statuses: statuses, Type: f.Type, Since: f.Since}, func(r eventrecord.Record) error {
		if f.Order != "" && !slices.Contains(f.OrderEvents, r.EventID) && envelope.OrderID(r.Body) != f.Order {
			return nil
		}
		if f.Stranded && !Stranded(r, now) {
			return nil
		}
		matched++
		keep = append(keep, r)
		if len(keep) >= 2*limit {
			keep = newestFirst(keep)[:limit]
		}
		return nil
	})
	if err != nil {
		return EventList{}, err
	}
	keep = newestFirst(keep)
	if len(keep) > limit {
		keep = keep[:limit]
	}
	out := EventList{Events: make([]EventView, len(keep)), Matched: matched}
	for i, r := range keep {
		out.Events[i] = View(r, now)
	}
	return out, nil
}

// newestFirst sorts by last update, newest first (then received time, then
// id, so the order is total).
func newestFirst(rs []eventrecord.Record) []eventrecord.Record {
	slices.SortFunc(rs, func(a, b eventrecord.Record) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		if c := b.ReceivedAt.Compare(a.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(b.EventID, a.EventID)
	})
	return rs
}

// ParseStatuses reads a comma-separated list of status names, in any case.
// An unknown name gives an error wrapping ErrUnknownStatus that names the
// valid ones.
func ParseStatuses(s string) ([]eventrecord.Status, error) {
	var out []eventrecord.Status
	for _, name := range strings.Split(s, ",") {
		if strings.TrimSpace(name) == "" {
			continue
		}
		st, err := ParseStatus(name)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	return out, nil
}

// validStatuses is the list an unknown status error names.
func validStatuses() string {
	names := make([]string, len(Statuses()))
	for i, s := range Statuses() {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// Notes are the short remarks a listing shows beside an event: what an
// operator can do with it. Other conditions add theirs here.
func (v EventView) Notes() []string {
	var n []string
	if v.Replayable {
		n = append(n, "replayable")
	}
	if v.Stranded {
		n = append(n, "stranded")
	}
	if v.Expired {
		n = append(n, "expired")
	}
	if len(v.ProcessorNotes) > 0 {
		n = append(n, "noted")
	}
	return n
}

// String is the filter in words, for the listing's footer.
func (f EventFilter) String() string {
	var parts []string
	if len(f.Statuses) > 0 {
		names := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			names[i] = string(s)
		}
		parts = append(parts, "status "+strings.Join(names, " or "))
	}
	if f.Type != "" {
		parts = append(parts, "type "+f.Type)
	}
	if f.Order != "" {
		parts = append(parts, "order "+f.Order)
	}
	if f.Stranded {
		parts = append(parts, "stranded")
	}
	if !f.Since.IsZero() {
		parts = append(parts, "updated since "+f.Since.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, ", ")
}
