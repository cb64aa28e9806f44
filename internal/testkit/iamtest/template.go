package iamtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// translateScript turns a SAM template into CloudFormation with the Python
// SAM translator.
//
//go:embed translate.py
var translateScript []byte

// ErrNoTranslator is returned by Translate when python3 or the SAM
// translator is missing.
var ErrNoTranslator = errors.New("the SAM translator is needed: install cfn-lint, which brings aws-sam-translator (make deps or make lint-deps)")

// Template is a SAM template translated into plain CloudFormation: what
// `sam deploy` would create, roles and their policies included.
type Template struct {
	Parameters map[string]Parameter `json:"Parameters"`
	// Mappings: map name, top-level key, second-level key, value (a
	// string or a list), as Fn::FindInMap reads them.
	Mappings   map[string]map[string]map[string]any `json:"Mappings"`
	Conditions map[string]any                       `json:"Conditions"`
	Resources  map[string]Resource                  `json:"Resources"`
}

// Parameter is a template parameter.
type Parameter struct {
	Type    string `json:"Type"`
	Default any    `json:"Default"`
}

// Resource is a template resource.
type Resource struct {
	Type       string         `json:"Type"`
	Condition  string         `json:"Condition"`
	Properties map[string]any `json:"Properties"`
}

// Resource types.
const (
	typeFunction      = "AWS::Lambda::Function"
	typeRole          = "AWS::IAM::Role"
	typeManagedPolicy = "AWS::IAM::ManagedPolicy"
)

// Translate translates the SAM template at path with the Python SAM
// translator (python3 on the PATH, with cfn-lint and aws-sam-translator).
func Translate(ctx context.Context, path string) (*Template, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("%w: python3 not found on PATH", ErrNoTranslator)
	}
	dir, err := os.MkdirTemp("", "iamtest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "translate.py")
	if err := os.WriteFile(script, translateScript, 0o600); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, py, script, path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "No module named") {
			return nil, fmt.Errorf("%w: %s", ErrNoTranslator, msg)
		}
		return nil, fmt.Errorf("translate %s: %v\n%s", path, err, msg)
	}
	return ParseTemplate(stdout.Bytes())
}

// ParseTemplate reads a translated template (CloudFormation JSON).
func ParseTemplate(b []byte) (*Template, error) {
	var t Template
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("translated template: %w", err)
	}
	if len(t.Resources) == 0 {
		return nil, errors.New("translated template has no resources")
	}
	return &t, nil
}

// Principals returns the logical ids of what holds a policy in the
// template: its functions and its managed policies, sorted.
func (t *Template) Principals() []string {
	var out []string
	for id, r := range t.Resources {
		if r.Type == typeFunction || r.Type == typeManagedPolicy {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Variables returns the environment variables a function's template entry
// declares, as unresolved expressions.
func (t *Template) Variables(function string) (map[string]any, error) {
	r, ok := t.Resources[function]
	if !ok || r.Type != typeFunction {
		return nil, fmt.Errorf("%s is not a function of the template", function)
	}
	env, _ := r.Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	return vars, nil
}

// policies returns the unresolved policies of a principal: a function's
// role's inline policies (each may be wrapped in Fn::If) and managed
// policy ARNs, or a managed policy's document.
func (t *Template) policies(principal string) ([]any, []any, error) {
	r, ok := t.Resources[principal]
	if !ok {
		return nil, nil, fmt.Errorf("the template has no resource %s", principal)
	}
	switch r.Type {
	case typeManagedPolicy:
		doc := map[string]any{"PolicyName": principal, "PolicyDocument": r.Properties["PolicyDocument"]}
		return []any{doc}, nil, nil
	case typeFunction:
		roleID, err := roleOf(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", principal, err)
		}
		role, ok := t.Resources[roleID]
		if !ok || role.Type != typeRole {
			return nil, nil, fmt.Errorf("%s: role %s is not an AWS::IAM::Role of the template", principal, roleID)
		}
		inline, _ := role.Properties["Policies"].([]any)
		managed, _ := role.Properties["ManagedPolicyArns"].([]any)
		return inline, managed, nil
	default:
		return nil, nil, fmt.Errorf("%s is a %s, not a function or a managed policy", principal, r.Type)
	}
}

// roleOf returns the logical id of a function's role (Role: !GetAtt X.Arn).
func roleOf(fn Resource) (string, error) {
	m, _ := fn.Properties["Role"].(map[string]any)
	args, _ := m["Fn::GetAtt"].([]any)
	if len(args) == 2 {
		if id, ok := args[0].(string); ok && args[1] == "Arn" {
			return id, nil
		}
	}
	return "", fmt.Errorf("role %v is not !GetAtt <Role>.Arn", fn.Properties["Role"])
}

// Actions returns every action of a principal's own policies, with both
// branches of every Fn::If, by policy and statement: what the reverse check
// expects the tests to exercise. AWS managed policies are left out (they
// serve the Lambda service, see AWSManaged).
func (t *Template) Actions(principal string) ([]ActionRef, error) {
	inline, _, err := t.policies(principal)
	if err != nil {
		return nil, err
	}
	var out []ActionRef
	add := func(ref ActionRef) {
		if !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	for _, p := range branches(inline) {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		name, _ := pm["PolicyName"].(string)
		doc, _ := pm["PolicyDocument"].(map[string]any)
		stmts, _ := doc["Statement"].([]any)
		for i, s := range stmts {
			for _, sb := range branches([]any{s}) {
				sm, ok := sb.(map[string]any)
				if !ok {
					continue
				}
				sid := statementID(sm, i)
				for _, a := range branches(asList(sm["Action"])) {
					if as, ok := a.(string); ok {
						add(ActionRef{Policy: name, Sid: sid, Action: as})
					}
				}
			}
		}
	}
	return out, nil
}

// AWSManaged returns the names of the AWS managed policies attached to a
// function's role under any parameters.
func (t *Template) AWSManaged(principal string) ([]string, error) {
	_, managed, err := t.policies(principal)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range branches(managed) {
		arn, ok := m.(string)
		if !ok {
			return nil, fmt.Errorf("%s: managed policy %v: only AWS managed policy ARNs are supported", principal, m)
		}
		name, ok := awsManagedName(arn)
		if !ok {
			return nil, fmt.Errorf("%s: managed policy %s is not an AWS managed policy", principal, arn)
		}
		out = append(out, name)
	}
	return out, nil
}

// branches flattens a list whose items may be Fn::If, keeping both
// branches of each (and dropping AWS::NoValue).
func branches(items []any) []any {
	var out []any
	for _, it := range items {
		m, ok := it.(map[string]any)
		if args, isIf := m["Fn::If"].([]any); ok && isIf && len(args) == 3 {
			out = append(out, branches(args[1:])...)
			continue
		}
		if ok && len(m) == 1 && m["Ref"] == "AWS::NoValue" {
			continue
		}
		out = append(out, it)
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func statementID(s map[string]any, index int) string {
	if sid, ok := s["Sid"].(string); ok && sid != "" {
		return sid
	}
	return fmt.Sprintf("#%d", index)
}
