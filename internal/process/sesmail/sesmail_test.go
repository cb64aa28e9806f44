package sesmail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sesmail"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

// sentEmail is one email as moto's /moto-api/data.json shows it.
type sentEmail struct {
	Source       string `json:"source"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
	Destinations struct {
		ToAddresses []string `json:"ToAddresses"`
	} `json:"destinations"`
}

// sentTo returns the emails moto holds for the address to.
func sentTo(t *testing.T, to string) []sentEmail {
	t.Helper()
	resp, err := http.Get(motoserver.Endpoint() + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []sentEmail `json:"Message"`
		} `json:"ses"`
	}
	var raw bytes.Buffer
	if _, err := raw.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw.Bytes(), &data); err != nil {
		t.Fatalf("moto data.json: %v", err)
	}
	var out []sentEmail
	for _, m := range data.SES.Message {
		if len(m.Destinations.ToAddresses) > 0 && m.Destinations.ToAddresses[0] == to {
			out = append(out, m)
		}
	}
	return out
}

func verifyDomain(t *testing.T, client *sesv2.Client, domain string) {
	t.Helper()
	_, err := client.CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)})
	if err != nil {
		t.Fatalf("create SES identity %s: %v", domain, err)
	}
}

func TestSendReachesSES(t *testing.T) {
	client := sesv2.NewFromConfig(motoserver.TestConfig(t))
	verifyDomain(t, client, "shop.example.com")
	m := sesmail.New(client, "orders@shop.example.com")
	to := strings.ToLower(motoserver.UniqueName(t, "buyer")) + "@example.org"
	e := handlers.Email{To: to, Subject: "Order ord_1: payment confirmed", Text: "Thanks\n", HTML: "<p>Thanks</p>",
		Template: handlers.TemplatePaymentConfirmation, OrderID: "ord_1"}
	if err := m.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	got := sentTo(t, to)
	if len(got) != 1 {
		t.Fatalf("want 1 email to %s, moto holds %d", to, len(got))
	}
	if got[0].Subject != e.Subject || got[0].Source != "orders@shop.example.com" || !strings.Contains(got[0].Body, "Thanks") {
		t.Errorf("email %+v", got[0])
	}
}

// TestRejectionIsUndeliverable: SES's MessageRejected (moto answers it for
// a sender never verified; SES in its sandbox for every recipient not
// verified) is an email that can never be sent: it wraps
// handlers.ErrUndeliverable, names the order and SES's code, and not the
// recipient's address.
func TestRejectionIsUndeliverable(t *testing.T) {
	client := sesv2.NewFromConfig(motoserver.TestConfig(t))
	m := sesmail.New(client, "orders@unverified.example.net")
	err := m.Send(context.Background(), handlers.Email{To: "jane.doe@example.org", Subject: "s", Text: "t", Template: "t", OrderID: "ord_2"})
	if !errors.Is(err, handlers.ErrUndeliverable) {
		t.Fatalf("want ErrUndeliverable, got %v", err)
	}
	if !strings.Contains(err.Error(), "ord_2") || !strings.Contains(err.Error(), "MessageRejected") || strings.Contains(err.Error(), "jane.doe") {
		t.Errorf("error %q: want the order and the code, not the address", err)
	}
}

// TestOtherErrorsAreNotUndeliverable: an error that is not SES refusing the
// email (here the endpoint is gone) stays a plain, transient error.
func TestOtherErrorsAreNotUndeliverable(t *testing.T) {
	client := sesv2.NewFromConfig(motoserver.TestConfig(t), func(o *sesv2.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	})
	err := sesmail.New(client, "orders@shop.example.com").Send(context.Background(), handlers.Email{To: "x@example.org", Subject: "s", Text: "t", OrderID: "ord_3"})
	if err == nil || errors.Is(err, handlers.ErrUndeliverable) || awserr.IsPermanent(err) {
		t.Errorf("want a transient error, got %v", err)
	}
}

func TestLogMailerLogsNoAddress(t *testing.T) {
	var buf bytes.Buffer
	l := &sesmail.LogMailer{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	err := l.Send(context.Background(), handlers.Email{To: "jane.doe@example.com", Subject: "Order ord_9: payment confirmed",
		Text: "secret body", Template: handlers.TemplatePaymentConfirmation, OrderID: "ord_9"})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"ord_9", handlers.TemplatePaymentConfirmation} {
		if !strings.Contains(out, want) {
			t.Errorf("log %s lacks %q", out, want)
		}
	}
	for _, never := range []string{"jane.doe", "example.com", "secret body"} {
		if strings.Contains(out, never) {
			t.Errorf("log %s shows %q", out, never)
		}
	}
}
