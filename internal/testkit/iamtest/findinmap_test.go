package iamtest

import (
	"context"
	"testing"
)

// Fn::FindInMap reads the template's Mappings (template.yaml's Tuning
// values), in values and in conditions alike.
func TestResolveFindInMap(t *testing.T) {
	tpl := &Template{
		Mappings: map[string]map[string]map[string]any{
			"Tuning": {"Api": {"AccessLogs": "false", "Burst": 200.0}},
		},
		Conditions: map[string]any{
			"HasAccessLogs": map[string]any{"Fn::Equals": []any{map[string]any{"Fn::FindInMap": []any{"Tuning", "Api", "AccessLogs"}}, "true"}},
		},
	}
	r := newResolver(context.Background(), tpl, nil)
	tests := []struct {
		expr any
		want string
	}{
		{map[string]any{"Fn::FindInMap": []any{"Tuning", "Api", "AccessLogs"}}, "false"},
		{map[string]any{"Fn::FindInMap": []any{"Tuning", "Api", "Burst"}}, "200"},
	}
	for _, tc := range tests {
		got, err := r.str(tc.expr)
		if err != nil || got != tc.want {
			t.Errorf("%v = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	if c, err := r.condition("HasAccessLogs"); err != nil || c {
		t.Errorf("HasAccessLogs = %v, %v; want false", c, err)
	}
	if _, err := r.str(map[string]any{"Fn::FindInMap": []any{"Tuning", "Api", "Nope"}}); err == nil {
		t.Error("a missing key resolved")
	}
}
