package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
)

// More CloudFormation outputs and parameters of the SAM template, for
// webhookctl connect.
const (
	OutputWebhookURL         = "WebhookUrl"
	OutputFunctionWebhookURL = "FunctionWebhookUrl"
	OutputSecretARN          = "WebhookSecretArn"
	ParamMode                = "Mode"
)

// StackInfo is a deployed stack's outputs and parameters, by key.
type StackInfo struct {
	Name       string
	Outputs    map[string]string
	Parameters map[string]string
}

// DescribeStack reads a stack's outputs and parameters (one DescribeStacks
// call). It returns an error wrapping ErrStackNotFound when there is no
// such stack.
func DescribeStack(ctx context.Context, cf StackDescriber, stack string) (StackInfo, error) {
	s, err := describeStack(ctx, cf, stack)
	if err != nil {
		return StackInfo{}, err
	}
	info := StackInfo{Name: stack, Outputs: map[string]string{}, Parameters: map[string]string{}}
	for _, o := range s.Outputs {
		info.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for _, p := range s.Parameters {
		info.Parameters[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	return info, nil
}

// describeStack is one DescribeStacks call for stack; a stack that does not
// exist is an error wrapping ErrStackNotFound.
func describeStack(ctx context.Context, cf StackDescriber, stack string) (types.Stack, error) {
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
			return types.Stack{}, fmt.Errorf("stack %s: %w", stack, ErrStackNotFound)
		}
		return types.Stack{}, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	if len(out.Stacks) == 0 {
		return types.Stack{}, fmt.Errorf("stack %s: %w", stack, ErrStackNotFound)
	}
	return out.Stacks[0], nil
}
