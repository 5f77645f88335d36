package config

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseHCL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
		err  string
	}{
		{name: "empty", in: "", want: map[string]any{}},
		{name: "scalars", in: "a = \"x\"\nb = 3\nc = -1.5\nd = true\ne = false\nf = 0x10",
			want: map[string]any{"a": "x", "b": json.Number("3"), "c": json.Number("-1.5"), "d": true, "e": false, "f": json.Number("16")}},
		{name: "commas and one line", in: `a = 1, b = "y"`, want: map[string]any{"a": json.Number("1"), "b": "y"}},
		{name: "escapes", in: `a = "q\"t\n\u00e9"`, want: map[string]any{"a": "q\"t\né"}},
		{name: "quoted key", in: `"a b" = 1`, want: map[string]any{"a b": json.Number("1")}},
		{name: "list", in: "l = [\n \"a\", # one\n \"b\",\n]", want: map[string]any{"l": []any{"a", "b"}}},
		{name: "empty list", in: "l = []", want: map[string]any{"l": []any{}}},
		{name: "block and assigned object", in: "p { x = 1 }\nq = { y = 2 }",
			want: map[string]any{"p": map[string]any{"x": json.Number("1")}, "q": map[string]any{"y": json.Number("2")}}},
		{name: "repeated block merges", in: "p { x = 1 }\np { y = 2 }",
			want: map[string]any{"p": map[string]any{"x": json.Number("1"), "y": json.Number("2")}}},
		{name: "repeated key: last wins", in: "a = 1\na = 2", want: map[string]any{"a": json.Number("2")}},
		{name: "labelled block", in: `service "web" { port = 80 }`,
			want: map[string]any{"service": map[string]any{"web": map[string]any{"port": json.Number("80")}}}},
		{name: "comments", in: "# a\n// b\n/* c\nd */ a = 1 // e", want: map[string]any{"a": json.Number("1")}},
		{name: "missing value", in: "a =", err: "line 1"},
		{name: "unquoted string", in: "a = hello", err: `unexpected word "hello"`},
		{name: "unterminated string", in: "a = \"x", err: "unterminated string"},
		{name: "newline in string", in: "a = \"x\ny\"", err: "newline in a string"},
		{name: "missing brace", in: "p {\n x = 1\n", err: "line 3: \"p\": unexpected end of input: missing '}'"},
		{name: "stray brace", in: "}", err: "unexpected '}'"},
		{name: "missing bracket", in: "l = [1, 2", err: "missing ']'"},
		{name: "list without commas", in: "l = [1 2]", err: "expected ',' or ']'"},
		{name: "heredoc", in: "a = <<EOF\nx\nEOF", err: "heredoc"},
		{name: "interpolation", in: `a = "${var.x}"`, err: "interpolation"},
		{name: "unterminated comment", in: "/* x", err: "unterminated /* comment"},
		{name: "label without block", in: `a "b" = 1`, err: "a label must be followed by a block"},
		{name: "bad number", in: "a = 1.2.3", err: "bad number"},
		{name: "line count", in: "a = 1\n\n/* x\n*/\nb = ", err: "line 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHCL([]byte(tt.in))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// FuzzParseHCL: any input parses or fails with an error, never a panic or
// a hang.
func FuzzParseHCL(f *testing.F) {
	for _, s := range []string{"", "a = 1", "p { x = [1, \"y\", { z = true }] }", `s "l" { a = "b" }`, "/* x */ # y\n// z", `a = "\u00e9\""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseHCL([]byte(s))
	})
}
