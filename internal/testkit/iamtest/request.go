package iamtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
)

// ErrUnmapped is returned by describe for a request whose action or
// resources the harness cannot tell: it is refused, never let through
// unchecked.
var ErrUnmapped = errors.New("iamtest cannot tell what this request does")

// signer is what the Authorization header of a SigV4 request says.
type signer struct {
	KeyID, Region, Service string
}

// parseAuth reads the access key, region and service from a SigV4
// Authorization header.
func parseAuth(h http.Header) (signer, bool) {
	auth := h.Get("Authorization")
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return signer{}, false
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return signer{}, false
	}
	return signer{KeyID: parts[0], Region: parts[2], Service: parts[3]}, true
}

// operation returns the API operation of a request: the X-Amz-Target of
// the JSON protocols, the Action of the query protocol, or the REST route
// of the SES v2 calls the harness knows.
func operation(r *http.Request, form url.Values) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndex(t, ".")+1:]
	}
	if a := form.Get("Action"); a != "" {
		return a
	}
	if r.Method == http.MethodPost && r.URL.Path == "/v2/email/outbound-emails" {
		return "SendEmail"
	}
	return ""
}

// describe maps one signed request to the call IAM authorizes: the action,
// the resource ARNs and the condition keys. free reports calls IAM always
// allows (sts:GetCallerIdentity).
func describe(ctx context.Context, r *http.Request, body []byte, s signer, look Lookups) (c Call, free bool, err error) {
	var form url.Values
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, _ = url.ParseQuery(string(body))
	}
	op := operation(r, form)
	if op == "" {
		return Call{}, false, fmt.Errorf("%w: %s %s to %s", ErrUnmapped, r.Method, r.URL.Path, s.Service)
	}
	var in map[string]any
	if form == nil && len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return Call{}, false, fmt.Errorf("%w: %s.%s: body is not JSON: %v", ErrUnmapped, s.Service, op, err)
		}
	}
	field := func(name string) string {
		if form != nil {
			return form.Get(name)
		}
		v, _ := in[name].(string)
		return v
	}
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", partition, service, s.Region, Account, resource)
	}
	c = Call{Action: s.Service + ":" + op}
	switch s.Service {
	case "dynamodb":
		switch op {
		case "TransactWriteItems":
			parts, err := transactParts(in, func(t string) string {
				if strings.HasPrefix(t, "arn:") {
					return t
				}
				return arn("dynamodb", "table/"+t)
			})
			if err != nil {
				return Call{}, false, err
			}
			c.Parts = parts
			return c, false, nil
		case "BatchGetItem", "BatchWriteItem", "TransactGetItems",
			"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction":
			return Call{}, false, fmt.Errorf("%w: dynamodb:%s (teach request.go its tables)", ErrUnmapped, op)
		}
		if t := field("TableName"); strings.HasPrefix(t, "arn:") {
			c.Resources = []string{t}
		} else if t != "" {
			c.Resources = []string{arn("dynamodb", "table/"+t)}
		}
	case "sqs":
		if single, ok := sqsBatchActions[c.Action]; ok {
			c.Action = single
		}
		switch op {
		case "ListQueues":
		case "GetQueueUrl", "CreateQueue":
			account := field("QueueOwnerAWSAccountId")
			if account == "" {
				account = Account
			}
			c.Resources = []string{fmt.Sprintf("arn:%s:sqs:%s:%s:%s", partition, s.Region, account, field("QueueName"))}
		case "StartMessageMoveTask", "ListMessageMoveTasks":
			c.Resources = []string{field("SourceArn")}
		default:
			account, name, err := queueFromURL(field("QueueUrl"))
			if err != nil {
				return Call{}, false, fmt.Errorf("%w: sqs:%s: %v", ErrUnmapped, op, err)
			}
			c.Resources = []string{fmt.Sprintf("arn:%s:sqs:%s:%s:%s", partition, s.Region, account, name)}
		}
	case "secretsmanager":
		if id := field("SecretId"); strings.HasPrefix(id, "arn:") {
			c.Resources = []string{id}
		} else if id != "" {
			found, err := look.SecretARN(ctx, id)
			if err != nil {
				// No such secret: IAM still checks the call, against an
				// ARN no policy of the template names.
				found = arn("secretsmanager", "secret:"+id)
			}
			c.Resources = []string{found}
		}
	case "events":
		switch op {
		case "PutEvents":
			entries, _ := in["Entries"].([]any)
			for _, e := range entries {
				em, _ := e.(map[string]any)
				bus, _ := em["EventBusName"].(string)
				if bus == "" {
					bus = "default"
				}
				if !strings.HasPrefix(bus, "arn:") {
					bus = arn("events", "event-bus/"+bus)
				}
				c.Resources = append(c.Resources, bus)
			}
		default:
			if name := field("Name"); name != "" {
				c.Resources = []string{arn("events", "event-bus/"+name)}
			}
		}
	case "ses":
		if op != "SendEmail" {
			return Call{}, false, fmt.Errorf("%w: ses %s %s (teach request.go the route)", ErrUnmapped, r.Method, r.URL.Path)
		}
		from, err := mail.ParseAddress(field("FromEmailAddress"))
		if err != nil {
			return Call{}, false, fmt.Errorf("%w: ses:SendEmail from %q: %v", ErrUnmapped, field("FromEmailAddress"), err)
		}
		_, domain, _ := strings.Cut(from.Address, "@")
		// SES checks the identity the message is sent through: the
		// address's domain, as the tests verify domains.
		c.Resources = []string{arn("ses", "identity/"+domain)}
		c.Context = map[string]string{"ses:FromAddress": from.Address}
	case "cloudformation":
		if name := field("StackName"); strings.HasPrefix(name, "arn:") {
			c.Resources = []string{name}
		} else if name != "" {
			c.Resources = []string{arn("cloudformation", "stack/"+name+"/*")}
		}
	case "sts":
		if op == "GetCallerIdentity" {
			return c, true, nil
		}
	case "iam":
	default:
		return Call{}, false, fmt.Errorf("%w: service %s (teach request.go its resources)", ErrUnmapped, s.Service)
	}
	return c, false, nil
}

// transactParts returns the calls of a TransactWriteItems request's items:
// each Put, Update, Delete or ConditionCheck on its table, as IAM
// authorizes them.
func transactParts(in map[string]any, tableARN func(string) string) ([]Call, error) {
	items, _ := in["TransactItems"].([]any)
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: dynamodb:TransactWriteItems without items", ErrUnmapped)
	}
	var parts []Call
	for i, it := range items {
		m, _ := it.(map[string]any)
		if len(m) != 1 {
			return nil, fmt.Errorf("%w: dynamodb:TransactWriteItems item %d is not one operation", ErrUnmapped, i)
		}
		for kind, v := range m {
			action, ok := dynamodbTransactItems[kind]
			op, _ := v.(map[string]any)
			table, _ := op["TableName"].(string)
			if !ok || table == "" {
				return nil, fmt.Errorf("%w: dynamodb:TransactWriteItems item %d: %s on %q", ErrUnmapped, i, kind, table)
			}
			parts = append(parts, Call{Action: action, Resources: []string{tableARN(table)}})
		}
	}
	return parts, nil
}
