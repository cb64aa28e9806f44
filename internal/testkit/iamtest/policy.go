package iamtest

import (
	"fmt"
	"slices"
	"strings"
)

// Policy is what one principal (a function's role, or a managed policy of
// the template) may do, resolved against the resources of a test.
type Policy struct {
	Principal  string
	Statements []Statement
}

// Statement is one resolved policy statement.
type Statement struct {
	// Policy names the policy the statement belongs to: the role's inline
	// policy name, the AWS managed policy's name, or the template's
	// managed policy's logical id.
	Policy string
	// Sid is the statement's Sid, or #N (its position in the template)
	// when it has none.
	Sid string
	// AWSManaged marks statements of AWS managed policies that SAM
	// attaches (logs, X-Ray, the SQS event source).
	AWSManaged bool
	Effect     string
	Actions    []string
	Resources  []string
	Conditions []Condition
}

// ID names the statement in messages: policy/sid.
func (s Statement) ID() string { return s.Policy + "/" + s.Sid }

// Condition is one key test of a statement's Condition block.
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// The condition operators and keys the harness evaluates. A statement
// using any other fails its resolution: the harness never skips a
// condition it cannot evaluate.
var (
	knownOperators = []string{"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"}
	// knownKeys are the condition keys request.go sets from a call.
	knownKeys = []string{"ses:FromAddress"}
)

// ActionRef names one action of one statement: the unit the reverse check
// counts.
type ActionRef struct {
	Policy, Sid, Action string
}

func (a ActionRef) String() string { return a.Policy + "/" + a.Sid + " " + a.Action }

// Call is an AWS API call as IAM authorizes it.
type Call struct {
	Action    string            // e.g. dynamodb:PutItem
	Resources []string          // the ARNs it touches; each must be allowed
	Context   map[string]string // condition keys the request sets
	// Parts, when set, are the calls IAM authorizes in its stead, each of
	// which must be allowed: the items of a DynamoDB transaction.
	Parts []Call
}

// Decision is the outcome of evaluating a call against a policy.
type Decision struct {
	Allowed bool
	// Refused lists the resources no statement allows, or that a Deny
	// statement names.
	Refused []string
	// Matched lists the actions of the Allow statements that allowed the
	// call.
	Matched []ActionRef
}

// Evaluate applies IAM's rule for identity policies: a call is allowed when
// for every resource some Allow statement matches the action, the resource
// and its conditions, and no Deny statement does.
func (p Policy) Evaluate(c Call) Decision {
	if len(c.Parts) > 0 {
		d := Decision{Allowed: true}
		for _, part := range c.Parts {
			pd := p.Evaluate(part)
			d.Allowed = d.Allowed && pd.Allowed
			d.Refused = append(d.Refused, pd.Refused...)
			for _, ref := range pd.Matched {
				if !slices.Contains(d.Matched, ref) {
					d.Matched = append(d.Matched, ref)
				}
			}
		}
		if !d.Allowed {
			d.Matched = nil
		}
		return d
	}
	d := Decision{Allowed: true}
	resources := c.Resources
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	for _, res := range resources {
		allowed, denied := false, false
		for _, s := range p.Statements {
			action, ok := s.matchAction(c.Action)
			if !ok || !s.matchResource(res) || !s.matchConditions(c.Context) {
				continue
			}
			if s.Effect == "Deny" {
				denied = true
				continue
			}
			allowed = true
			ref := ActionRef{Policy: s.Policy, Sid: s.Sid, Action: action}
			if !slices.Contains(d.Matched, ref) {
				d.Matched = append(d.Matched, ref)
			}
		}
		if denied || !allowed {
			d.Allowed = false
			d.Refused = append(d.Refused, res)
		}
	}
	if !d.Allowed {
		d.Matched = nil
	}
	return d
}

// matchAction returns the statement's action pattern that matches action
// (IAM compares actions case-insensitively).
func (s Statement) matchAction(action string) (string, bool) {
	for _, a := range s.Actions {
		if glob(strings.ToLower(a), strings.ToLower(action)) {
			return a, true
		}
	}
	return "", false
}

func (s Statement) matchResource(arn string) bool {
	for _, r := range s.Resources {
		if glob(r, arn) {
			return true
		}
	}
	return false
}

// matchConditions evaluates every condition; a key the call does not set
// fails the positive operators and passes the negative ones, as in IAM.
func (s Statement) matchConditions(ctx map[string]string) bool {
	for _, c := range s.Conditions {
		v, present := ctx[c.Key]
		hit := false
		for _, want := range c.Values {
			switch c.Operator {
			case "StringEquals", "StringNotEquals":
				hit = hit || (present && v == want)
			case "StringLike", "StringNotLike":
				hit = hit || (present && glob(want, v))
			}
		}
		negative := strings.Contains(c.Operator, "Not")
		if hit == negative {
			return false
		}
	}
	return true
}

// glob matches s against an IAM pattern: * is any run of characters, ? any
// one character.
func glob(pattern, s string) bool {
	// Iterative wildcard matching with backtracking to the last *.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// dynamodbTransactItems maps the kinds of item of a DynamoDB
// TransactWriteItems to the actions IAM authorizes each under (there is no
// IAM action for the transaction itself; moto_server authorizes it under
// its own name).
var dynamodbTransactItems = map[string]string{
	"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
	"Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem",
}

// sqsBatchActions are the SQS batch APIs that IAM authorizes under the
// single-message action, and moto_server under their own names.
var sqsBatchActions = map[string]string{
	"sqs:SendMessageBatch":             "sqs:SendMessage",
	"sqs:DeleteMessageBatch":           "sqs:DeleteMessage",
	"sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}

// sqsWithoutQueueURL are the SQS actions whose requests name no QueueUrl:
// moto authorizes them against "*", like the services it does not match
// resources for.
var sqsWithoutQueueURL = []string{"sqs:ListQueues", "sqs:GetQueueUrl", "sqs:CreateQueue",
	"sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask"}

// motoMatchesResource reports whether moto_server checks a statement's
// resources for action: only SQS actions on a queue URL (and "*").
func motoMatchesResource(action string) bool {
	if action == "*" {
		return true
	}
	svc, _, _ := strings.Cut(strings.ToLower(action), ":")
	if svc != "sqs" {
		return false
	}
	return !slices.ContainsFunc(sqsWithoutQueueURL, func(a string) bool { return strings.EqualFold(a, action) })
}

// motoDocument is the policy document the harness gives the principal's
// IAM user in moto_server: the same statements, adapted to what moto
// evaluates (see docs/least-privilege.md):
//   - moto matches resources only for SQS calls on a queue URL (and IAM,
//     STS); every other call it authorizes against "*", so a statement
//     naming an ARN would refuse it. Such actions are split off into a
//     statement with Resource "*"; the harness's proxy checks their
//     resources instead.
//   - moto authorizes SQS batch calls under their own names; the batch
//     names are added next to the single-message actions IAM uses for them.
//   - moto treats condition keys it does not know as satisfied, so the
//     conditions are kept as written; the proxy evaluates them.
//
// Deny statements are not supported (none of the template's policies has
// one): widening a Deny would refuse more than AWS does.
func motoDocument(stmts []Statement) (map[string]any, error) {
	var out []map[string]any
	for _, s := range stmts {
		if s.Effect != "Allow" {
			return nil, fmt.Errorf("statement %s: only Allow statements are supported", s.ID())
		}
		// Actions moto matches against the statement's resources, and
		// the others, which get "*".
		var matched, widened []string
		for _, a := range s.Actions {
			group := &widened
			if motoMatchesResource(a) {
				group = &matched
			}
			*group = append(*group, a)
			for batch, single := range sqsBatchActions {
				if strings.EqualFold(a, single) {
					*group = append(*group, batch)
				}
			}
			// moto_server authorizes a transaction under its own name:
			// allow it where a statement allows one of its item actions;
			// the proxy checks each item against the template's statements.
			for _, item := range dynamodbTransactItems {
				if strings.EqualFold(a, item) && !slices.Contains(widened, "dynamodb:TransactWriteItems") {
					widened = append(widened, "dynamodb:TransactWriteItems")
				}
			}
		}
		for _, actions := range [][]string{matched, widened} {
			if len(actions) == 0 {
				continue
			}
			slices.Sort(actions)
			resources := []string{"*"}
			if motoMatchesResource(actions[0]) {
				resources = s.Resources
			}
			st := map[string]any{"Effect": "Allow", "Action": actions, "Resource": resources}
			if len(s.Conditions) > 0 {
				cond := map[string]any{}
				for _, c := range s.Conditions {
					m, _ := cond[c.Operator].(map[string]any)
					if m == nil {
						m = map[string]any{}
						cond[c.Operator] = m
					}
					m[c.Key] = c.Values
				}
				st["Condition"] = cond
			}
			out = append(out, st)
		}
	}
	return map[string]any{"Version": "2012-10-17", "Statement": out}, nil
}
