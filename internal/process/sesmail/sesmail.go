// Package sesmail sends the processor's customer emails through Amazon SES
// v2 (SendEmail), and provides LogMailer for deployments with no sender
// address, which only logs that an email would have been sent.
//
// Customer addresses are personal data: neither mailer logs them; logs name
// the order and the template instead.
package sesmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

var (
	_ handlers.Mailer = (*Mailer)(nil)
	_ handlers.Mailer = (*LogMailer)(nil)
)

// Mailer sends emails with SES v2 from one sender address.
type Mailer struct {
	client *sesv2.Client
	from   string
	// ConfigurationSet, when set, names the SES configuration set of
	// every email (delivery, bounce and complaint tracking).
	ConfigurationSet string
}

// New returns a Mailer sending from the address from (which SES must have
// verified, or its domain) through client.
func New(client *sesv2.Client, from string) *Mailer {
	return &Mailer{client: client, from: from}
}

// Send sends e as one SendEmail call with a text and, when set, an HTML
// part. An email SES will never accept (MessageRejected: in the SES sandbox
// every recipient not verified; BadRequestException: an address or content
// SES refuses) is an error wrapping handlers.ErrUndeliverable that names
// SES's error code only (SES's message can quote the recipient's address).
// Other SDK errors, configuration errors such as an unverified MAIL FROM
// domain included, are returned wrapped; awserr classifies them.
func (m *Mailer) Send(ctx context.Context, e handlers.Email) error {
	body := &types.Body{}
	if e.Text != "" {
		body.Text = &types.Content{Data: aws.String(e.Text), Charset: aws.String("UTF-8")}
	}
	if e.HTML != "" {
		body.Html = &types.Content{Data: aws.String(e.HTML), Charset: aws.String("UTF-8")}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: []string{e.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(e.Subject), Charset: aws.String("UTF-8")},
			Body:    body,
		}},
	}
	if m.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(m.ConfigurationSet)
	}
	if e.Template != "" {
		in.EmailTags = []types.MessageTag{{Name: aws.String("template"), Value: aws.String(e.Template)}}
	}
	if _, err := m.client.SendEmail(ctx, in); err != nil {
		if code, ok := undeliverable(err); ok {
			return fmt.Errorf("send %s email for order %s: %w: SES %s", e.Template, e.OrderID, handlers.ErrUndeliverable, code)
		}
		return fmt.Errorf("send %s email for order %s: %w", e.Template, e.OrderID, err)
	}
	return nil
}

// undeliverable reports whether err is SES refusing this email for good,
// and its error code.
func undeliverable(err error) (string, bool) {
	var rejected *types.MessageRejected
	var bad *types.BadRequestException
	if !errors.As(err, &rejected) && !errors.As(err, &bad) {
		return "", false
	}
	var apiErr smithy.APIError
	errors.As(err, &apiErr)
	return apiErr.ErrorCode(), true
}

// LogMailer stands in for Mailer when no sender address is configured: it
// logs the order, template and subject of each email, and sends nothing.
type LogMailer struct {
	Logger *slog.Logger // slog.Default when nil
}

// Send logs e without its recipient or body.
func (l *LogMailer) Send(ctx context.Context, e handlers.Email) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "email not sent: no sender configured",
		slog.String("order_id", e.OrderID),
		slog.String("template", e.Template),
		slog.String("subject", e.Subject))
	return nil
}
