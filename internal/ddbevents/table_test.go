package ddbevents

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/testkit/clocktest"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

// t0 is the tests' "now"; records are built relative to it.
var baseT0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

const (
	lease = 30 * time.Second
	ttl   = 30 * 24 * time.Hour
	hash  = "9f3c0000000000000000000000000000000000000000000000000000000000aa"
)

// newTable creates a fresh events table for the test and deletes it after.
func newTable(t *testing.T) (*Table, *dynamodb.Client) {
	t.Helper()
	client := dynamodb.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "events")
	if err := CreateTable(context.Background(), client, name); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return New(client, name), client
}

// received is what ingest reserves at now with token.
func received(id, token string, now time.Time) eventrecord.Record {
	return eventrecord.Record{
		EventID:     id,
		Status:      eventrecord.Received,
		Type:        "payment.succeeded",
		Created:     now.Add(-time.Minute),
		Livemode:    true,
		PayloadHash: hash,
		Token:       token,
		LeaseUntil:  now.Add(lease),
		ExpiresAt:   now.Add(ttl),
		ReceivedAt:  now,
		UpdatedAt:   now,
	}
}

// claim is what the processor claims at now with token.
func claim(id, token string, now time.Time) eventrecord.Record {
	r := received(id, token, now)
	r.Status = eventrecord.Processing
	return r
}

// seed writes rec unconditionally.
func seed(t *testing.T, client *dynamodb.Client, tbl *Table, rec eventrecord.Record) {
	t.Helper()
	_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tbl.name), Item: encode(rec)})
	if err != nil {
		t.Fatalf("seed %s: %v", rec.EventID, err)
	}
}

// mustGet reads id or fails the test.
func mustGet(t *testing.T, tbl *Table, id string) eventrecord.Record {
	t.Helper()
	r, err := tbl.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return r
}

// wantConflict checks that err is a ConflictError and returns it.
func wantConflict(t *testing.T, err error) *eventrecord.ConflictError {
	t.Helper()
	var ce *eventrecord.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v, want *eventrecord.ConflictError", err)
	}
	return ce
}

// withStatus returns rec in status s, lease and TTL as given.
func withStatus(rec eventrecord.Record, s eventrecord.Status, leaseUntil, expiresAt time.Time) eventrecord.Record {
	rec.Status, rec.LeaseUntil, rec.ExpiresAt = s, leaseUntil, expiresAt
	return rec
}

func TestReserve(t *testing.T) { clocktest.Run(t, baseT0, testReserve) }

func testReserve(t *testing.T, t0 time.Time) {
	const id = "evt_reserve"
	old := received(id, "old-token", t0)
	other := strings.Repeat("0", 64) // another body's hash
	tests := []struct {
		name       string
		existing   *eventrecord.Record
		now        time.Time
		hash       string             // of the new delivery's body
		wantStatus eventrecord.Status // of the conflicting record; "" wants success
	}{
		{name: "fresh", now: t0, hash: other},
		{name: "received with a live lease", existing: &old, now: t0.Add(time.Second), hash: hash, wantStatus: eventrecord.Received},
		{name: "received with an expired lease: the same body takes over", existing: &old, now: t0.Add(lease + time.Second), hash: hash},
		{name: "received, lease ends exactly now", existing: &old, now: t0.Add(lease), hash: hash},
		// A different body never replaces a stored one, whatever its lease.
		{name: "received with an expired lease, another body", existing: &old, now: t0.Add(lease + time.Second), hash: other, wantStatus: eventrecord.Received},
		{name: "received with a live lease, another body", existing: &old, now: t0.Add(time.Second), hash: other, wantStatus: eventrecord.Received},
		{name: "processed, TTL passed", existing: ptr(withStatus(old, eventrecord.Processed, time.Time{}, t0.Add(-time.Second))), now: t0, hash: other},
		{name: "processed, TTL not passed", existing: ptr(withStatus(old, eventrecord.Processed, time.Time{}, t0.Add(ttl))), now: t0.Add(time.Hour), hash: hash, wantStatus: eventrecord.Processed},
		{name: "processed, another body", existing: ptr(withStatus(old, eventrecord.Processed, time.Time{}, t0.Add(ttl))), now: t0.Add(time.Hour), hash: other, wantStatus: eventrecord.Processed},
		{name: "processing with an expired lease", existing: ptr(withStatus(old, eventrecord.Processing, t0, t0.Add(ttl))), now: t0.Add(time.Hour), hash: hash, wantStatus: eventrecord.Processing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, client := newTable(t)
			if tc.existing != nil {
				seed(t, client, tbl, *tc.existing)
			}
			rec := received(id, "new-token", tc.now)
			rec.PayloadHash = tc.hash
			err := tbl.Reserve(context.Background(), rec, tc.now)
			if tc.wantStatus == "" {
				if err != nil {
					t.Fatalf("Reserve: %v", err)
				}
				if got := mustGet(t, tbl, id); !recordsEqual(got, rec) {
					t.Errorf("stored record:\n got %+v\nwant %+v", got, rec)
				}
				return
			}
			ce := wantConflict(t, err)
			ex := ce.Existing
			if ex.EventID != id || ex.Status != tc.wantStatus || ex.PayloadHash != hash || ex.Token != "old-token" {
				t.Errorf("Existing: got id %q status %q hash %q token %q, want %q %q %q %q",
					ex.EventID, ex.Status, ex.PayloadHash, ex.Token, id, tc.wantStatus, hash, "old-token")
			}
			if got := mustGet(t, tbl, id); got.Token != "old-token" {
				t.Errorf("after a refused Reserve the stored token is %q, want old-token", got.Token)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestReserveItemUnder1KB(t *testing.T) { clocktest.Run(t, baseT0, testReserveItemUnder1KB) }

func testReserveItemUnder1KB(t *testing.T, t0 time.Time) {
	tbl, client := newTable(t)
	rec := received("evt_"+strings.Repeat("x", 60), strings.Repeat("t", 36), t0)
	rec.Type = "payment.partially_refunded.with_a_long_type_name"
	if err := tbl.Reserve(context.Background(), rec, t0); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(tbl.name), Key: key(rec.EventID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	size := itemSize(out.Item)
	if size == 0 || size >= 1024 {
		t.Errorf("item size about %d bytes, want between 1 and 1023", size)
	}
	if _, ok := out.Item[attrBody]; ok {
		t.Error("a RECEIVED item carries a body")
	}
}

// itemSize is a rough DynamoDB item size: names plus values.
func itemSize(it item) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	}
	return 1024 // unknown types count as too big
}

func TestReserveConcurrent(t *testing.T) { clocktest.Run(t, baseT0, testReserveConcurrent) }

func testReserveConcurrent(t *testing.T, t0 time.Time) {
	tbl, _ := newTable(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = tbl.Reserve(context.Background(), received("evt_race", fmt.Sprintf("token-%d", i), t0), t0)
		})
	}
	wg.Wait()
	wins, winner := 0, -1
	for i, err := range errs {
		var ce *eventrecord.ConflictError
		switch {
		case err == nil:
			wins++
			winner = i
		case errors.As(err, &ce):
		default:
			t.Errorf("goroutine %d: unexpected error %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d Reserves succeeded, want exactly 1", wins)
	}
	if got := mustGet(t, tbl, "evt_race"); got.Token != fmt.Sprintf("token-%d", winner) {
		t.Errorf("stored token %q, want the winner's token-%d", got.Token, winner)
	}
}

func TestRelease(t *testing.T) { clocktest.Run(t, baseT0, testRelease) }

func testRelease(t *testing.T, t0 time.Time) {
	const id = "evt_release"
	tests := []struct {
		name       string
		seed       *eventrecord.Record
		token      string
		wantStatus eventrecord.Status // of the conflict; "" wants the delete
	}{
		{name: "right token", seed: ptr(received(id, "mine", t0)), token: "mine"},
		{name: "wrong token", seed: ptr(received(id, "theirs", t0)), token: "mine", wantStatus: eventrecord.Received},
		{name: "already processing", seed: ptr(withStatus(received(id, "mine", t0), eventrecord.Processing, t0.Add(lease), t0.Add(ttl))), token: "mine", wantStatus: eventrecord.Processing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, client := newTable(t)
			seed(t, client, tbl, *tc.seed)
			err := tbl.Release(context.Background(), id, tc.token)
			if tc.wantStatus == "" {
				if err != nil {
					t.Fatalf("Release: %v", err)
				}
				if _, err := tbl.Get(context.Background(), id); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get after Release: got %v, want ErrNotFound", err)
				}
				return
			}
			if ce := wantConflict(t, err); ce.Existing.Status != tc.wantStatus || ce.Existing.Token != tc.seed.Token {
				t.Errorf("Existing: got status %q token %q, want %q %q", ce.Existing.Status, ce.Existing.Token, tc.wantStatus, tc.seed.Token)
			}
			mustGet(t, tbl, id)
		})
	}
	t.Run("missing record", func(t *testing.T) {
		tbl, _ := newTable(t)
		ce := wantConflict(t, tbl.Release(context.Background(), "evt_none", "mine"))
		if ce.Existing.EventID != "evt_none" || ce.Existing.Status != "" {
			t.Errorf("Existing: got %+v, want only the id", ce.Existing)
		}
	})
}

func TestPutTerminal(t *testing.T) { clocktest.Run(t, baseT0, testPutTerminal) }

func testPutTerminal(t *testing.T, t0 time.Time) {
	body := []byte(`{"not":"an envelope"}`)
	rejected := eventrecord.Record{
		EventID: "sha256:" + hash, Status: eventrecord.Rejected, PayloadHash: hash,
		Error: "missing id", Body: body, ExpiresAt: t0.Add(ttl), ReceivedAt: t0, UpdatedAt: t0,
	}
	ignored := eventrecord.Record{
		EventID: "evt_ignored", Status: eventrecord.Ignored, Type: "customer.created", PayloadHash: hash,
		Error: "type not subscribed", Body: body, ExpiresAt: t0.Add(ttl), ReceivedAt: t0, UpdatedAt: t0,
	}
	tests := []struct {
		name         string
		existing     *eventrecord.Record
		rec          eventrecord.Record
		now          time.Time
		wantConflict bool
	}{
		{name: "rejected with body", rec: rejected, now: t0},
		{name: "ignored with body", rec: ignored, now: t0},
		{name: "ignored again", existing: &ignored, rec: ignored, now: t0.Add(time.Hour), wantConflict: true},
		{name: "over an expired record", existing: ptr(withStatus(ignored, eventrecord.Processed, time.Time{}, t0)), rec: ignored, now: t0.Add(time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, client := newTable(t)
			if tc.existing != nil {
				seed(t, client, tbl, *tc.existing)
			}
			err := tbl.PutTerminal(context.Background(), tc.rec, tc.now)
			if tc.wantConflict {
				if ce := wantConflict(t, err); ce.Existing.Status != tc.existing.Status {
					t.Errorf("Existing status %q, want %q", ce.Existing.Status, tc.existing.Status)
				}
				return
			}
			if err != nil {
				t.Fatalf("PutTerminal: %v", err)
			}
			if got := mustGet(t, tbl, tc.rec.EventID); !recordsEqual(got, tc.rec) {
				t.Errorf("stored:\n got %+v\nwant %+v", got, tc.rec)
			}
		})
	}
	t.Run("status not terminal", func(t *testing.T) {
		tbl, _ := newTable(t)
		err := tbl.PutTerminal(context.Background(), received("evt_x", "t", t0), t0)
		var ce *eventrecord.ConflictError
		if err == nil || errors.As(err, &ce) {
			t.Fatalf("PutTerminal of a RECEIVED record: got %v, want a plain error", err)
		}
	})
}

func TestClaim(t *testing.T) { clocktest.Run(t, baseT0, testClaim) }

func testClaim(t *testing.T, t0 time.Time) {
	const id = "evt_claim"
	base := received(id, "ingest-token", t0)
	base.Type = "payment.failed" // the stored type wins over the claim's
	base.Attempts = 1
	now := t0.Add(time.Minute)
	tests := []struct {
		name         string
		existing     *eventrecord.Record
		wantAttempts int
		wantType     string
		wantSteps    int
		wantStatus   eventrecord.Status // of the conflict; "" wants the claim
	}{
		{name: "missing", wantAttempts: 1, wantType: "payment.succeeded"},
		{name: "received", existing: ptr(withStatus(base, eventrecord.Received, t0.Add(lease), t0.Add(ttl))), wantAttempts: 2, wantType: "payment.failed", wantSteps: 1},
		{name: "retrying", existing: ptr(withStatus(base, eventrecord.Retrying, time.Time{}, t0.Add(ttl))), wantAttempts: 2, wantType: "payment.failed", wantSteps: 1},
		{name: "processing, lease expired", existing: ptr(withStatus(base, eventrecord.Processing, now.Add(-time.Millisecond), t0.Add(ttl))), wantAttempts: 2, wantType: "payment.failed", wantSteps: 1},
		{name: "processed, TTL passed: a fresh start", existing: ptr(withStatus(base, eventrecord.Processed, time.Time{}, now)), wantAttempts: 1, wantType: "payment.succeeded"},
		{name: "processing, live lease", existing: ptr(withStatus(base, eventrecord.Processing, now.Add(time.Second), t0.Add(ttl))), wantStatus: eventrecord.Processing},
		{name: "processed", existing: ptr(withStatus(base, eventrecord.Processed, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Processed},
		{name: "failed", existing: ptr(withStatus(base, eventrecord.Failed, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Failed},
		{name: "ignored", existing: ptr(withStatus(base, eventrecord.Ignored, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Ignored},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, client := newTable(t)
			if tc.existing != nil {
				ex := *tc.existing
				ex.Steps = []string{"order_updated"}
				seed(t, client, tbl, ex)
			}
			got, err := tbl.Claim(context.Background(), claim(id, "proc-token", now), now)
			if tc.wantStatus != "" {
				if ce := wantConflict(t, err); ce.Existing.Status != tc.wantStatus || ce.Existing.Token != "ingest-token" {
					t.Errorf("Existing: got status %q token %q, want %q ingest-token", ce.Existing.Status, ce.Existing.Token, tc.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			if got.Status != eventrecord.Processing || got.Token != "proc-token" || got.Attempts != tc.wantAttempts ||
				!got.LeaseUntil.Equal(now.Add(lease)) || !got.ExpiresAt.Equal(now.Add(ttl)) || got.Type != tc.wantType ||
				got.PayloadHash != hash || !got.UpdatedAt.Equal(now) || len(got.Steps) != tc.wantSteps {
				t.Errorf("claimed record %+v: want PROCESSING, proc-token, %d attempts, lease %v, TTL %v, type %s, hash, updated now, %d steps",
					got, tc.wantAttempts, now.Add(lease), now.Add(ttl), tc.wantType, tc.wantSteps)
			}
			if stored := mustGet(t, tbl, id); !recordsEqual(stored, got) {
				t.Errorf("Claim returned %+v, table holds %+v", got, stored)
			}
		})
	}
}

func TestCheckpointThenReclaim(t *testing.T) { clocktest.Run(t, baseT0, testCheckpointThenReclaim) }

func testCheckpointThenReclaim(t *testing.T, t0 time.Time) {
	ctx := context.Background()
	tbl, _ := newTable(t)
	const id = "evt_steps"
	if err := tbl.Reserve(ctx, received(id, "ingest", t0), t0); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	first := claim(id, "first", t0)
	if _, err := tbl.Claim(ctx, first, t0); err != nil {
		t.Fatalf("first Claim: %v", err)
	}
	steps := []string{"order_updated", "email_sent"}
	if err := tbl.Checkpoint(ctx, id, "first", steps, t0.Add(time.Second)); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	early := t0.Add(lease - time.Second)
	if _, err := tbl.Claim(ctx, claim(id, "second", early), early); err == nil {
		t.Fatal("Claim during the first attempt's lease: want a conflict, got none")
	} else {
		wantConflict(t, err)
	}
	later := t0.Add(lease + time.Second)
	got, err := tbl.Claim(ctx, claim(id, "second", later), later)
	if err != nil {
		t.Fatalf("Claim after the lease: %v", err)
	}
	if strings.Join(got.Steps, ",") != strings.Join(steps, ",") || got.Attempts != 2 {
		t.Errorf("reclaimed: steps %v attempts %d, want %v and 2", got.Steps, got.Attempts, steps)
	}
	ce := wantConflict(t, tbl.Checkpoint(ctx, id, "first", []string{"x"}, later))
	if ce.Existing.Token != "second" {
		t.Errorf("Checkpoint with a lost lease: Existing token %q, want second", ce.Existing.Token)
	}
	wantConflict(t, tbl.Checkpoint(ctx, "evt_none", "first", steps, later))
}

func TestFinish(t *testing.T) { clocktest.Run(t, baseT0, testFinish) }

func testFinish(t *testing.T, t0 time.Time) {
	const id = "evt_finish"
	now := t0.Add(2 * time.Second)
	body := []byte(`{"id":"evt_finish","type":"payment.succeeded"}`)
	tests := []struct {
		name         string
		rec          eventrecord.Record
		want         func(eventrecord.Record) string // "" when fine
		wantConflict bool
	}{
		{
			name: "processed",
			rec:  eventrecord.Record{EventID: id, Token: "proc", Status: eventrecord.Processed, DurationMS: 17},
			want: func(r eventrecord.Record) string {
				if r.Status != eventrecord.Processed || r.DurationMS != 17 || r.Error != "" || !r.LeaseUntil.IsZero() || len(r.Body) != 0 ||
					r.Token != "proc" || !r.UpdatedAt.Equal(now) || len(r.Steps) != 1 {
					return "want PROCESSED, 17 ms, no error, no lease, no body, token kept, updated now, earlier step kept"
				}
				return ""
			},
		},
		{
			name: "retrying",
			rec:  eventrecord.Record{EventID: id, Token: "proc", Status: eventrecord.Retrying, Error: "throttled", Steps: []string{"a", "b"}},
			want: func(r eventrecord.Record) string {
				if r.Status != eventrecord.Retrying || r.Error != "throttled" || len(r.Body) != 0 || strings.Join(r.Steps, ",") != "a,b" {
					return "want RETRYING, the error, no body (a replay's is dropped: the retry comes from the queue), steps a,b"
				}
				return ""
			},
		},
		{
			name: "failed clips a long error",
			rec:  eventrecord.Record{EventID: id, Token: "proc", Status: eventrecord.Failed, Error: strings.Repeat("é", MaxErrorBytes), Body: body},
			want: func(r eventrecord.Record) string {
				if len(r.Error) > MaxErrorBytes || !strings.HasSuffix(r.Error, "…") || !strings.HasPrefix(r.Error, "éé") || !utf8.ValidString(r.Error) {
					return "want the error clipped to MaxErrorBytes at a character, ending in …"
				}
				return ""
			},
		},
		{
			name: "processed with notes",
			rec: eventrecord.Record{EventID: id, Token: "proc", Status: eventrecord.Processed, Steps: []string{"order", "event", "email"},
				Notes: []string{"email_undeliverable: SES MessageRejected"}},
			want: func(r eventrecord.Record) string {
				if r.Status != eventrecord.Processed || strings.Join(r.Notes, ",") != "email_undeliverable: SES MessageRejected" {
					return "want PROCESSED with the note"
				}
				return ""
			},
		},
		{
			name: "failed keeps the body",
			rec:  eventrecord.Record{EventID: id, Token: "proc", Status: eventrecord.Failed, Error: "no metadata.order_id", Body: body},
			want: func(r eventrecord.Record) string {
				if r.Status != eventrecord.Failed || r.Error != "no metadata.order_id" || string(r.Body) != string(body) {
					return "want FAILED, the error and the body"
				}
				return ""
			},
		},
		{name: "wrong token", rec: eventrecord.Record{EventID: id, Token: "other", Status: eventrecord.Processed}, wantConflict: true},
		{name: "missing record", rec: eventrecord.Record{EventID: "evt_none", Token: "proc", Status: eventrecord.Processed}, wantConflict: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, client := newTable(t)
			ex := withStatus(received(id, "proc", t0), eventrecord.Processing, t0.Add(lease), t0.Add(ttl))
			ex.Error, ex.Steps = "earlier failure", []string{"order_updated"}
			seed(t, client, tbl, ex)
			// A replayed event's record holds the stored body until the
			// attempt ends (Reset keeps it): put one there.
			if _, err := client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
				TableName: aws.String(tbl.name), Key: key(id), UpdateExpression: aws.String("SET #b = :b"),
				ExpressionAttributeNames:  map[string]string{"#b": attrBody},
				ExpressionAttributeValues: item{":b": &types.AttributeValueMemberB{Value: []byte("stored body")}},
			}); err != nil {
				t.Fatal(err)
			}
			err := tbl.Finish(context.Background(), tc.rec, now)
			if tc.wantConflict {
				wantConflict(t, err)
				if got := mustGet(t, tbl, id); got.Status != eventrecord.Processing {
					t.Errorf("after a refused Finish the status is %q, want PROCESSING", got.Status)
				}
				return
			}
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			got := mustGet(t, tbl, id)
			if msg := tc.want(got); msg != "" {
				t.Errorf("stored %+v: %s", got, msg)
			}
		})
	}
	t.Run("status not final", func(t *testing.T) {
		tbl, _ := newTable(t)
		err := tbl.Finish(context.Background(), eventrecord.Record{EventID: id, Token: "proc", Status: eventrecord.Ignored}, now)
		var ce *eventrecord.ConflictError
		if err == nil || errors.As(err, &ce) {
			t.Fatalf("Finish IGNORED: got %v, want a plain error", err)
		}
	})
}

func TestGetNotFound(t *testing.T) {
	tbl, _ := newTable(t)
	if _, err := tbl.Get(context.Background(), "evt_none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing record: got %v, want ErrNotFound", err)
	}
}

func TestList(t *testing.T) { clocktest.Run(t, baseT0, testList) }

func testList(t *testing.T, t0 time.Time) {
	tbl, client := newTable(t)
	at := func(id string, s eventrecord.Status, updated time.Time) eventrecord.Record {
		r := received(id, "t", t0)
		r.Status, r.UpdatedAt = s, updated
		return r
	}
	for _, r := range []eventrecord.Record{
		at("evt_f_old", eventrecord.Failed, t0.Add(-time.Hour)),
		at("evt_f_2", eventrecord.Failed, t0.Add(2*time.Minute)),
		at("evt_f_1", eventrecord.Failed, t0.Add(time.Minute)),
		at("evt_f_0", eventrecord.Failed, t0),
		at("evt_p", eventrecord.Processed, t0.Add(time.Minute)),
	} {
		seed(t, client, tbl, r)
	}
	tests := []struct {
		name   string
		status eventrecord.Status
		since  time.Time
		want   string
	}{
		{"failed since t0", eventrecord.Failed, t0, "evt_f_0,evt_f_1,evt_f_2"},
		{"every failed", eventrecord.Failed, time.Time{}, "evt_f_old,evt_f_0,evt_f_1,evt_f_2"},
		{"processed", eventrecord.Processed, t0, "evt_p"},
		{"none", eventrecord.Retrying, time.Time{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := tbl.List(context.Background(), tc.status, tc.since)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			ids := make([]string, len(recs))
			for i, r := range recs {
				ids[i] = r.EventID
			}
			if got := strings.Join(ids, ","); got != tc.want {
				t.Errorf("List(%s, %v): got %q, want %q", tc.status, tc.since, got, tc.want)
			}
		})
	}
}

func TestCreateTableIdempotent(t *testing.T) {
	ctx := context.Background()
	client := dynamodb.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "events")
	t.Cleanup(func() { _, _ = client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}) })
	for i := range 2 {
		if err := CreateTable(ctx, client, name); err != nil {
			t.Fatalf("CreateTable #%d: %v", i+1, err)
		}
	}
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeTimeToLive: %v", err)
	}
	if d := out.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != attrExpiresAt || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL: got %+v, want ENABLED on %s", d, attrExpiresAt)
	}
}
