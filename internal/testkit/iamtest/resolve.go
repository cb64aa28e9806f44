package iamtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

// The emulator's account and region: every ARN the harness computes is in
// them.
const (
	Account   = "123456789012"
	Region    = motoserver.Region
	partition = "aws"
	// StackName is the stack name the harness resolves AWS::StackName to,
	// unless a test binds it.
	StackName = "iamtest"
)

// Lookups finds the ARN of a resource a template names by what a test
// gives (a secret's name).
type Lookups interface {
	SecretARN(ctx context.Context, id string) (string, error)
}

// noValue is what AWS::NoValue resolves to: the item is left out.
type noValue struct{}

// resolver evaluates a template's intrinsic functions under one binding.
type resolver struct {
	t       *Template
	params  map[string]string // parameter and pseudo parameter values
	refs    map[string]string // Ref value of resources, by logical id
	bound   map[string]bool   // parameters bound by the test (not defaults)
	conds   map[string]bool   // conditions evaluated so far
	lookups Lookups
	ctx     context.Context
}

func newResolver(ctx context.Context, t *Template, lookups Lookups) *resolver {
	r := &resolver{
		t:      t,
		params: map[string]string{},
		refs:   map[string]string{},
		bound:  map[string]bool{},
		conds:  map[string]bool{},
		ctx:    ctx, lookups: lookups,
	}
	for name, p := range t.Parameters {
		r.params[name] = scalar(p.Default)
	}
	r.params["AWS::Region"] = Region
	r.params["AWS::AccountId"] = Account
	r.params["AWS::Partition"] = partition
	r.params["AWS::URLSuffix"] = "amazonaws.com"
	r.params["AWS::StackName"] = StackName
	r.params["AWS::StackId"] = fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/%s/00000000-0000-0000-0000-000000000000", partition, Region, Account, StackName)
	return r
}

// scalar formats a parameter default (string, number or bool) as
// CloudFormation passes it.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

func (r *resolver) isParam(name string) bool {
	_, ok := r.params[name]
	return ok
}

// bind sets what a logical id stands for: a parameter's value, or a
// resource's Ref value. Binding one twice to different values is an error.
func (r *resolver) bind(id, value string) error {
	if r.isParam(id) {
		if r.bound[id] && r.params[id] != value {
			return fmt.Errorf("%s is both %q and %q", id, r.params[id], value)
		}
		r.params[id], r.bound[id] = value, true
		clear(r.conds)
		return nil
	}
	res, ok := r.t.Resources[id]
	if !ok {
		return fmt.Errorf("the template has no parameter or resource %s", id)
	}
	if res.Type == "AWS::SecretsManager::Secret" && !strings.HasPrefix(value, "arn:") {
		// Ref of a secret is its ARN; a test may name it.
		if r.lookups == nil {
			return fmt.Errorf("%s: secret %q is not an ARN", id, value)
		}
		arn, err := r.lookups.SecretARN(r.ctx, value)
		if err != nil {
			return fmt.Errorf("%s: find the ARN of secret %q: %w", id, value, err)
		}
		value = arn
	}
	if old, ok := r.refs[id]; ok && old != value {
		return fmt.Errorf("%s is both %q and %q", id, old, value)
	}
	r.refs[id] = value
	return nil
}

// bindEnv binds what a function's environment names: each variable the
// template sets to !Ref X (or to an Fn::If of such) binds X to the
// variable's value. Parameters are bound first, so that the conditions of
// Fn::If see them. Empty variables bind nothing.
func (r *resolver) bindEnv(vars map[string]any, getenv func(string) string) error {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	slices.Sort(names)
	var errs []error
	for _, n := range names {
		if id, ok := refName(vars[n]); ok && r.isParam(id) {
			if v := getenv(n); v != "" {
				if err := r.bind(id, v); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", n, err))
				}
			}
		}
	}
	for _, n := range names {
		if v := getenv(n); v != "" {
			if err := r.bindResource(vars[n], v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", n, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (r *resolver) bindResource(expr any, value string) error {
	if id, ok := refName(expr); ok {
		if r.isParam(id) {
			return nil // bound in the first pass
		}
		return r.bind(id, value)
	}
	if args, ok := fnArgs(expr, "Fn::If"); ok && len(args) == 3 {
		name, _ := args[0].(string)
		c, err := r.condition(name)
		if err != nil {
			return err
		}
		if c {
			return r.bindResource(args[1], value)
		}
		return r.bindResource(args[2], value)
	}
	return nil
}

func refName(expr any) (string, bool) {
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	s, ok := m["Ref"].(string)
	return s, ok
}

func fnArgs(expr any, fn string) ([]any, bool) {
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, false
	}
	args, ok := m[fn].([]any)
	return args, ok
}

// condition evaluates a named condition of the template.
func (r *resolver) condition(name string) (bool, error) {
	if v, ok := r.conds[name]; ok {
		return v, nil
	}
	expr, ok := r.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("the template has no condition %s", name)
	}
	v, err := r.cond(expr)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	r.conds[name] = v
	return v, nil
}

func (r *resolver) cond(expr any) (bool, error) {
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("%v is not a condition function", expr)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return r.condition(name)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals takes two values")
			}
			a, err := r.str(args[0])
			if err != nil {
				return false, err
			}
			b, err := r.str(args[1])
			if err != nil {
				return false, err
			}
			return a == b, nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not takes one condition")
			}
			v, err := r.cond(args[0])
			return !v, err
		case "Fn::And", "Fn::Or":
			allTrue, anyTrue := true, false
			for _, a := range args {
				v, err := r.cond(a)
				if err != nil {
					return false, err
				}
				allTrue, anyTrue = allTrue && v, anyTrue || v
			}
			if fn == "Fn::And" {
				return allTrue, nil
			}
			return anyTrue, nil
		}
		return false, fmt.Errorf("%s is not a condition function", fn)
	}
	panic("unreachable")
}

// value resolves the intrinsic functions in v. AWS::NoValue comes back as
// noValue{} and is dropped from maps and lists.
func (r *resolver) value(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			rv, err := r.value(e)
			if err != nil {
				return nil, err
			}
			if _, skip := rv.(noValue); !skip {
				out[k] = rv
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			rv, err := r.value(e)
			if err != nil {
				return nil, err
			}
			if _, skip := rv.(noValue); !skip {
				out = append(out, rv)
			}
		}
		return out, nil
	case float64, bool:
		return scalar(x), nil
	default:
		return x, nil
	}
}

// str resolves v to a string.
func (r *resolver) str(v any) (string, error) {
	rv, err := r.value(v)
	if err != nil {
		return "", err
	}
	s, ok := rv.(string)
	if !ok {
		return "", fmt.Errorf("%v is not a string", v)
	}
	return s, nil
}

func (r *resolver) intrinsic(fn string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if name == "AWS::NoValue" {
			return noValue{}, nil
		}
		return r.ref(name)
	case "Fn::GetAtt":
		if s, ok := arg.(string); ok {
			id, attr, _ := strings.Cut(s, ".")
			return r.attr(id, attr)
		}
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt %v", arg)
		}
		id, _ := args[0].(string)
		attr, err := r.str(args[1])
		if err != nil {
			return nil, err
		}
		return r.attr(id, attr)
	case "Fn::If":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If %v", arg)
		}
		name, _ := args[0].(string)
		c, err := r.condition(name)
		if err != nil {
			return nil, err
		}
		if c {
			return r.value(args[1])
		}
		return r.value(args[2])
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::FindInMap":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::FindInMap %v", arg)
		}
		keys := make([]string, 3)
		for i, a := range args {
			k, err := r.str(a)
			if err != nil {
				return nil, fmt.Errorf("Fn::FindInMap %v: %w", arg, err)
			}
			keys[i] = k
		}
		v, ok := r.t.Mappings[keys[0]][keys[1]][keys[2]]
		if !ok {
			return nil, fmt.Errorf("Fn::FindInMap: the template has no mapping %s.%s.%s", keys[0], keys[1], keys[2])
		}
		if l, isList := v.([]any); isList {
			return l, nil
		}
		return scalar(v), nil
	case "Fn::Join":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Join %v", arg)
		}
		sep, err := r.str(args[0])
		if err != nil {
			return nil, err
		}
		list, err := r.value(args[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, p := range asList(list) {
			s, ok := p.(string)
			if !ok {
				return nil, fmt.Errorf("Fn::Join of %v", p)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, sep), nil
	}
	return nil, fmt.Errorf("iamtest does not resolve %s", fn)
}

func (r *resolver) ref(name string) (string, error) {
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	return r.attr(name, "")
}

// The ARN of a resource a test did not bind: it exists nowhere, so a
// statement naming it allows nothing.
const unboundPrefix = "iamtest-unbound-"

// attr returns a resource's Ref value (attr "") or attribute, from what the
// test bound it to.
func (r *resolver) attr(id, attr string) (string, error) {
	res, ok := r.t.Resources[id]
	if !ok {
		return "", fmt.Errorf("the template has no resource %s", id)
	}
	ref, bound := r.refs[id]
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", partition, service, Region, Account, resource)
	}
	switch res.Type {
	case "AWS::DynamoDB::Table":
		if !bound {
			ref = unboundPrefix + id
		}
		switch attr {
		case "":
			return ref, nil
		case "Arn":
			return arn("dynamodb", "table/"+ref), nil
		}
	case "AWS::SQS::Queue":
		if !bound {
			ref = fmt.Sprintf("http://127.0.0.1/%s/%s%s", Account, unboundPrefix, id)
		}
		account, name, err := queueFromURL(ref)
		if err != nil {
			return "", fmt.Errorf("%s: %w", id, err)
		}
		switch attr {
		case "", "QueueUrl":
			return ref, nil
		case "QueueName":
			return name, nil
		case "Arn":
			return fmt.Sprintf("arn:%s:sqs:%s:%s:%s", partition, Region, account, name), nil
		}
	case "AWS::SecretsManager::Secret":
		if !bound {
			ref = arn("secretsmanager", "secret:"+unboundPrefix+id+"-000000")
		}
		if attr == "" || attr == "Id" {
			return ref, nil
		}
	case "AWS::Events::EventBus":
		if !bound {
			ref = unboundPrefix + id
		}
		switch attr {
		case "", "Name":
			return ref, nil
		case "Arn":
			return arn("events", "event-bus/"+ref), nil
		}
	default:
		return "", fmt.Errorf("iamtest does not know the ARN of %s resources (%s)", res.Type, id)
	}
	return "", fmt.Errorf("iamtest does not know attribute %q of %s (%s)", attr, id, res.Type)
}

// queueFromURL returns the account and name of a queue URL
// (…/ACCOUNT/NAME).
func queueFromURL(raw string) (account, name string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("queue URL %q: %w", raw, err)
	}
	name = path.Base(u.Path)
	account = path.Base(path.Dir(u.Path))
	if name == "" || name == "/" || name == "." || account == "/" || account == "." {
		return "", "", fmt.Errorf("queue URL %q does not end in /ACCOUNT/NAME", raw)
	}
	return account, name, nil
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r *resolver) sub(arg any) (string, error) {
	tmpl, ok := arg.(string)
	vars := map[string]string{}
	if !ok {
		args, _ := arg.([]any)
		if len(args) != 2 {
			return "", fmt.Errorf("Fn::Sub %v", arg)
		}
		tmpl, _ = args[0].(string)
		m, _ := args[1].(map[string]any)
		for k, v := range m {
			s, err := r.str(v)
			if err != nil {
				return "", err
			}
			vars[k] = s
		}
	}
	var errs []error
	out := subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return v
		}
		var v string
		var err error
		if id, attr, dotted := strings.Cut(name, "."); dotted {
			v, err = r.attr(id, attr)
		} else {
			v, err = r.ref(name)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return v
	})
	return out, errors.Join(errs...)
}

// policy resolves a principal's policies under the binding.
func (r *resolver) policy(principal string) (Policy, error) {
	inline, managed, err := r.t.policies(principal)
	if err != nil {
		return Policy{}, err
	}
	pol := Policy{Principal: principal}
	for _, raw := range inline {
		p, err := r.pick(raw)
		if err != nil {
			return Policy{}, err
		}
		pm, ok := p.(map[string]any)
		if !ok {
			continue // AWS::NoValue
		}
		name, err := r.str(pm["PolicyName"])
		if err != nil {
			return Policy{}, fmt.Errorf("%s: policy name: %w", principal, err)
		}
		doc, _ := pm["PolicyDocument"].(map[string]any)
		for i, s := range asList(doc["Statement"]) {
			rs, err := r.value(s)
			if err != nil {
				return Policy{}, fmt.Errorf("%s: policy %s, statement %d: %w", principal, name, i, err)
			}
			sm, ok := rs.(map[string]any)
			if !ok {
				continue // AWS::NoValue
			}
			st, err := parseStatement(name, statementID(sm, i), sm)
			if err != nil {
				return Policy{}, fmt.Errorf("%s: %w", principal, err)
			}
			pol.Statements = append(pol.Statements, st)
		}
	}
	for _, raw := range managed {
		v, err := r.value(raw)
		if err != nil {
			return Policy{}, err
		}
		arn, ok := v.(string)
		if !ok {
			continue // AWS::NoValue
		}
		name, ok := awsManagedName(arn)
		if !ok {
			return Policy{}, fmt.Errorf("%s: managed policy %s: iamtest knows only %v", principal, arn, knownManaged())
		}
		pol.Statements = append(pol.Statements, awsManagedStatements(name)...)
	}
	return pol, nil
}

// pick resolves the Fn::If around a policy, leaving its document for
// statement-by-statement resolution (so that statements keep their
// position in the template).
func (r *resolver) pick(v any) (any, error) {
	if args, ok := fnArgs(v, "Fn::If"); ok && len(args) == 3 {
		name, _ := args[0].(string)
		c, err := r.condition(name)
		if err != nil {
			return nil, err
		}
		if c {
			return r.pick(args[1])
		}
		return r.pick(args[2])
	}
	if id, ok := refName(v); ok && id == "AWS::NoValue" {
		return noValue{}, nil
	}
	return v, nil
}

func knownManaged() []string {
	var out []string
	for n := range awsManagedPolicies {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// parseStatement reads a resolved statement. Elements the harness does
// not evaluate (NotAction, NotResource, Principal, unknown condition
// operators or keys) are errors, never ignored.
func parseStatement(policy, sid string, m map[string]any) (Statement, error) {
	s := Statement{Policy: policy, Sid: sid}
	for k := range m {
		switch k {
		case "Sid", "Effect", "Action", "Resource", "Condition":
		default:
			return s, fmt.Errorf("statement %s: iamtest does not evaluate %s", s.ID(), k)
		}
	}
	s.Effect, _ = m["Effect"].(string)
	if s.Effect != "Allow" && s.Effect != "Deny" {
		return s, fmt.Errorf("statement %s: Effect %v", s.ID(), m["Effect"])
	}
	var err error
	if s.Actions, err = strings1(m["Action"]); err != nil || len(s.Actions) == 0 {
		return s, fmt.Errorf("statement %s: Action %v", s.ID(), m["Action"])
	}
	if s.Resources, err = strings1(m["Resource"]); err != nil || len(s.Resources) == 0 {
		return s, fmt.Errorf("statement %s: Resource %v", s.ID(), m["Resource"])
	}
	conds, _ := m["Condition"].(map[string]any)
	for op, keys := range conds {
		if !slices.Contains(knownOperators, op) {
			return s, fmt.Errorf("statement %s: iamtest does not evaluate condition operator %s", s.ID(), op)
		}
		km, _ := keys.(map[string]any)
		for key, vals := range km {
			if !slices.Contains(knownKeys, key) {
				return s, fmt.Errorf("statement %s: iamtest does not evaluate condition key %s (teach request.go to set it)", s.ID(), key)
			}
			vs, err := strings1(vals)
			if err != nil {
				return s, fmt.Errorf("statement %s: condition %s %s: %w", s.ID(), op, key, err)
			}
			s.Conditions = append(s.Conditions, Condition{Operator: op, Key: key, Values: vs})
		}
	}
	slices.SortFunc(s.Conditions, func(a, b Condition) int { return strings.Compare(a.Operator+a.Key, b.Operator+b.Key) })
	return s, nil
}

// strings1 reads a string or a list of strings.
func strings1(v any) ([]string, error) {
	var out []string
	for _, e := range asList(v) {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%v is not a string", e)
		}
		out = append(out, s)
	}
	return out, nil
}
