package iamtest

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true},
		{"arn:aws:ses:us-east-1:1:identity/*", "arn:aws:ses:us-east-1:1:identity/shop.example.com", true},
		{"arn:aws:ses:us-east-1:1:identity/*", "arn:aws:ses:us-east-1:1:configuration-set/x", false},
		{"dynamodb:*Item", "dynamodb:PutItem", true},
		{"dynamodb:*Item", "dynamodb:PutItems", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"table/events", "table/events-2", false},
		{"*a*b*", "xxaxxbxx", true},
		{"", "", true},
	}
	for _, tc := range tests {
		if got := glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	const table = "arn:aws:dynamodb:us-east-1:123456789012:table/events"
	const other = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
	pol := Policy{Statements: []Statement{
		{Policy: "p", Sid: "Rows", Effect: "Allow", Actions: []string{"dynamodb:PutItem", "dynamodb:Get*"}, Resources: []string{table}},
		{Policy: "p", Sid: "Mail", Effect: "Allow", Actions: []string{"ses:SendEmail"}, Resources: []string{"arn:aws:ses:us-east-1:123456789012:identity/*"},
			Conditions: []Condition{{Operator: "StringEquals", Key: "ses:FromAddress", Values: []string{"orders@shop.example.com"}}}},
		{Policy: "p", Sid: "NotFromSpam", Effect: "Allow", Actions: []string{"ses:SendRawEmail"}, Resources: []string{"*"},
			Conditions: []Condition{{Operator: "StringNotLike", Key: "ses:FromAddress", Values: []string{"*@spam.example"}}}},
		{Policy: "p", Sid: "NoGetOnOrders", Effect: "Deny", Actions: []string{"dynamodb:GetItem"}, Resources: []string{table}},
	}}
	mail := func(from string) map[string]string {
		if from == "" {
			return nil
		}
		return map[string]string{"ses:FromAddress": from}
	}
	identity := []string{"arn:aws:ses:us-east-1:123456789012:identity/shop.example.com"}
	tests := []struct {
		name        string
		call        Call
		wantAllowed bool
		wantRefused []string
		wantMatched []ActionRef
	}{
		{"allowed", Call{Action: "dynamodb:PutItem", Resources: []string{table}}, true, nil,
			[]ActionRef{{"p", "Rows", "dynamodb:PutItem"}}},
		{"actions compare case-insensitively", Call{Action: "DynamoDB:putitem", Resources: []string{table}}, true, nil,
			[]ActionRef{{"p", "Rows", "dynamodb:PutItem"}}},
		{"wildcard action", Call{Action: "dynamodb:GetRecords", Resources: []string{table}}, true, nil,
			[]ActionRef{{"p", "Rows", "dynamodb:Get*"}}},
		{"another table", Call{Action: "dynamodb:PutItem", Resources: []string{other}}, false, []string{other}, nil},
		{"another action", Call{Action: "dynamodb:DeleteItem", Resources: []string{table}}, false, []string{table}, nil},
		{"deny wins", Call{Action: "dynamodb:GetItem", Resources: []string{table}}, false, []string{table}, nil},
		{"no resource is *", Call{Action: "dynamodb:ListTables"}, false, []string{"*"}, nil},
		{"condition met", Call{Action: "ses:SendEmail", Resources: identity, Context: mail("orders@shop.example.com")}, true, nil,
			[]ActionRef{{"p", "Mail", "ses:SendEmail"}}},
		{"condition not met", Call{Action: "ses:SendEmail", Resources: identity, Context: mail("other@shop.example.com")}, false, identity, nil},
		{"condition key missing", Call{Action: "ses:SendEmail", Resources: identity}, false, identity, nil},
		{"negative condition, key missing", Call{Action: "ses:SendRawEmail", Resources: identity}, true, nil,
			[]ActionRef{{"p", "NotFromSpam", "ses:SendRawEmail"}}},
		{"negative condition hit", Call{Action: "ses:SendRawEmail", Resources: identity, Context: mail("x@spam.example")}, false, identity, nil},
		{"every resource must be allowed", Call{Action: "dynamodb:PutItem", Resources: []string{table, other}}, false, []string{other}, nil},
		{"a transaction whose items are allowed", Call{Action: "dynamodb:TransactWriteItems", Parts: []Call{
			{Action: "dynamodb:PutItem", Resources: []string{table}}, {Action: "dynamodb:PutItem", Resources: []string{table}}}}, true, nil,
			[]ActionRef{{"p", "Rows", "dynamodb:PutItem"}}},
		{"a transaction with one item refused", Call{Action: "dynamodb:TransactWriteItems", Parts: []Call{
			{Action: "dynamodb:PutItem", Resources: []string{table}}, {Action: "dynamodb:UpdateItem", Resources: []string{other}}}}, false, []string{other}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := pol.Evaluate(tc.call)
			if d.Allowed != tc.wantAllowed || !slices.Equal(d.Refused, tc.wantRefused) || !slices.Equal(d.Matched, tc.wantMatched) {
				t.Errorf("Evaluate(%+v)\n got %+v\nwant allowed %v, refused %v, matched %v", tc.call, d, tc.wantAllowed, tc.wantRefused, tc.wantMatched)
			}
		})
	}
}

// The moto copy keeps SQS resources (moto matches them), widens the others
// to * (moto does not), splits mixed statements by service, and adds the
// SQS batch names and the DynamoDB transaction moto authorizes under (the
// proxy checks the transaction's items one by one).
func TestMotoDocument(t *testing.T) {
	queue := "arn:aws:sqs:us-east-1:123456789012:q"
	doc, err := motoDocument([]Statement{
		{Policy: "p", Sid: "Mixed", Effect: "Allow", Actions: []string{"sqs:SendMessage", "dynamodb:PutItem"},
			Resources: []string{queue, "arn:aws:dynamodb:us-east-1:123456789012:table/t"}},
		{Policy: "p", Sid: "Mail", Effect: "Allow", Actions: []string{"ses:SendEmail"}, Resources: []string{"arn:aws:ses:us-east-1:123456789012:identity/*"},
			Conditions: []Condition{{Operator: "StringEquals", Key: "ses:FromAddress", Values: []string{"a@b.example"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Statement":[` +
		`{"Action":["sqs:SendMessage","sqs:SendMessageBatch"],"Effect":"Allow","Resource":["arn:aws:sqs:us-east-1:123456789012:q","arn:aws:dynamodb:us-east-1:123456789012:table/t"]},` +
		`{"Action":["dynamodb:PutItem","dynamodb:TransactWriteItems"],"Effect":"Allow","Resource":["*"]},` +
		`{"Action":["ses:SendEmail"],"Condition":{"StringEquals":{"ses:FromAddress":["a@b.example"]}},"Effect":"Allow","Resource":["*"]}` +
		`],"Version":"2012-10-17"}`
	if string(got) != want {
		t.Errorf("moto document\n got %s\nwant %s", got, want)
	}
	// moto matches no resource for an SQS call without a queue URL.
	doc, err = motoDocument([]Statement{{Policy: "p", Sid: "Redrive", Effect: "Allow",
		Actions: []string{"sqs:StartMessageMoveTask", "sqs:ReceiveMessage"}, Resources: []string{queue}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(doc); string(got) != `{"Statement":[`+
		`{"Action":["sqs:ReceiveMessage"],"Effect":"Allow","Resource":["arn:aws:sqs:us-east-1:123456789012:q"]},`+
		`{"Action":["sqs:StartMessageMoveTask"],"Effect":"Allow","Resource":["*"]}],"Version":"2012-10-17"}` {
		t.Errorf("moto document of a move task: %s", got)
	}
	if _, err := motoDocument([]Statement{{Policy: "p", Sid: "D", Effect: "Deny", Actions: []string{"sqs:*"}, Resources: []string{"*"}}}); err == nil {
		t.Error("a Deny statement: want an error")
	}
}
