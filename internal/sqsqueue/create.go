package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// dlqRetention keeps dead letters for the longest time SQS allows, 14 days.
const dlqRetention = 14 * 24 * time.Hour

// CreateQueues creates the events queue called name and its dead-letter
// queue called dlqName, for local runs and tests: a message received
// maxReceiveCount times without being deleted moves to the dead-letter queue;
// visibility is the main queue's visibility timeout (whole seconds). The
// dead-letter queue keeps messages 14 days; both take messages up to
// MaxMessageBytes, as template.yaml's queues do.
//
// It is idempotent: queues that already exist are brought to these
// attributes. It returns both queue URLs; QueueARN gives a queue's ARN.
func CreateQueues(ctx context.Context, client *sqs.Client, name, dlqName string, maxReceiveCount int, visibility time.Duration) (queueURL, dlqURL string, err error) {
	if maxReceiveCount < 1 || maxReceiveCount > 1000 {
		return "", "", fmt.Errorf("create queues %s: maxReceiveCount %d outside 1..1000", name, maxReceiveCount)
	}
	if visibility < 0 || visibility > 12*time.Hour {
		return "", "", fmt.Errorf("create queues %s: visibility timeout %s outside 0..12h", name, visibility)
	}
	maxSize := strconv.Itoa(MaxMessageBytes)
	dlqURL, err = ensureQueue(ctx, client, dlqName, map[string]string{
		string(types.QueueAttributeNameMessageRetentionPeriod): seconds(dlqRetention),
		string(types.QueueAttributeNameMaximumMessageSize):     maxSize,
	})
	if err != nil {
		return "", "", err
	}
	dlqARN, err := queueARN(ctx, client, dlqURL)
	if err != nil {
		return "", "", err
	}
	redrive, err := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     string `json:"maxReceiveCount"`
	}{dlqARN, strconv.Itoa(maxReceiveCount)})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	queueURL, err = ensureQueue(ctx, client, name, map[string]string{
		string(types.QueueAttributeNameRedrivePolicy):      string(redrive),
		string(types.QueueAttributeNameVisibilityTimeout):  seconds(visibility),
		string(types.QueueAttributeNameMaximumMessageSize): maxSize,
	})
	if err != nil {
		return "", "", err
	}
	return queueURL, dlqURL, nil
}

// QueueARN returns the ARN of the queue at url, as a redrive policy or an
// IAM policy names it.
func QueueARN(ctx context.Context, client *sqs.Client, url string) (string, error) {
	return queueARN(ctx, client, url)
}

func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// ensureQueue creates the queue, or, when one of that name exists with other
// attributes, sets them on it.
func ensureQueue(ctx context.Context, client *sqs.Client, name string, attrs map[string]string) (string, error) {
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err == nil {
		return aws.ToString(out.QueueUrl), nil
	}
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	got, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("find queue %s: %w", name, err)
	}
	url := aws.ToString(got.QueueUrl)
	if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs}); err != nil {
		return "", fmt.Errorf("update queue %s: %w", name, err)
	}
	return url, nil
}

func queueARN(ctx context.Context, client *sqs.Client, url string) (string, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("read ARN of queue %s: %w", url, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("read ARN of queue %s: none returned", url)
	}
	return arn, nil
}
