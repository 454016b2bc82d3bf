// The Go text/template subset (src/template/go_template.h): each construct, whitespace trimming,
// Go's printing and comparison rules, and parse / execution errors with line:column. Expected
// strings are what Go's text/template prints for the same template and data.
#include <gtest/gtest.h>

#include "base/error.h"
#include "template/go_template.h"

namespace smolvlm {
namespace {

using json = nlohmann::json;

std::string R(const std::string& t, const json& data = json::object()) {
  return GoTemplate::parse(t, "t").execute(data);
}

// The message of the Error that parsing or executing throws ("" when none is thrown).
std::string error_of(const std::string& t, const json& data = json::object()) {
  try {
    R(t, data);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GoTemplate, TextFieldsAndNestedFields) {
  const json d = {{"Name", "Ann"}, {"A", {{"B", {{"C", 7}}}}}};
  EXPECT_EQ(R("plain text", d), "plain text");
  EXPECT_EQ(R("Hi {{.Name}}!", d), "Hi Ann!");
  EXPECT_EQ(R("{{ .A.B.C }}", d), "7");
  EXPECT_EQ(R("{{ . }}", json("dot")), "dot");
  EXPECT_EQ(R("[{{ .Missing }}]", d), "[<no value>]");  // missingkey=zero on a map: nil
  EXPECT_EQ(GoTemplate().execute(d), "");
  EXPECT_EQ(R("", d), "");
}

TEST(GoTemplate, TrimMarkers) {
  const json d = {{"X", "x"}};
  EXPECT_EQ(R("a  \n\t{{- .X -}}  \n b", d), "axb");
  EXPECT_EQ(R("a {{- .X }} b", d), "ax b");
  EXPECT_EQ(R("a {{ .X -}} b", d), "a xb");
  EXPECT_EQ(R("{{-3}}"), "-3");  // no space after the dash: a negative number
  EXPECT_EQ(R("a \n{{- /* note */ -}}\n b"), "ab");
  EXPECT_EQ(R("a{{/* a comment with {{ braces */}}b"), "ab");
}

TEST(GoTemplate, Literals) {
  EXPECT_EQ(R(R"({{ "a\tb\n\u00e9\x41" }})"), "a\tb\n\xc3\xa9" "A");
  EXPECT_EQ(R("{{ `raw \\n` }}"), "raw \\n");
  EXPECT_EQ(R("{{ 42 }} {{ -7 }} {{ 0x1F }} {{ 1.5 }} {{ 1e6 }} {{ 2.0 }}"), "42 -7 31 1.5 1e+06 2");
  EXPECT_EQ(R("{{ 'a' }} {{ true }} {{ false }}"), "97 true false");
  EXPECT_EQ(R("{{ print nil }}"), "<nil>");
}

TEST(GoTemplate, IfElseIfElse) {
  const std::string t = "{{ if eq .N 1 }}one{{ else if eq .N 2 }}two{{ else }}many{{ end }}";
  EXPECT_EQ(R(t, {{"N", 1}}), "one");
  EXPECT_EQ(R(t, {{"N", 2}}), "two");
  EXPECT_EQ(R(t, {{"N", 3}}), "many");
  // Go's truthiness: empty values are false.
  for (const json& v : {json(nullptr), json(false), json(0), json(0.0), json(""), json::array(), json::object()})
    EXPECT_EQ(R("{{ if .V }}T{{ else }}F{{ end }}", {{"V", v}}), "F") << v.dump();
  for (const json& v : {json(true), json(-1), json(0.5), json(" "), json::array({0}), json({{"k", 0}})})
    EXPECT_EQ(R("{{ if .V }}T{{ else }}F{{ end }}", {{"V", v}}), "T") << v.dump();
}

TEST(GoTemplate, RangeWithIndexElseBreakContinue) {
  const json d = {{"L", {"a", "b", "c"}}, {"E", json::array()}, {"M", {{"y", 2}, {"x", 1}}}};
  EXPECT_EQ(R("{{ range .L }}<{{ . }}>{{ end }}", d), "<a><b><c>");
  EXPECT_EQ(R("{{ range $i, $e := .L }}{{ $i }}={{ $e }} {{ end }}", d), "0=a 1=b 2=c ");
  EXPECT_EQ(R("{{ range $e := .L }}{{ $e }}{{ end }}", d), "abc");
  EXPECT_EQ(R("{{ range .E }}x{{ else }}empty{{ end }}", d), "empty");
  EXPECT_EQ(R("{{ range .Nope }}x{{ else }}nil{{ end }}", d), "nil");
  EXPECT_EQ(R("{{ range $k, $v := .M }}{{ $k }}{{ $v }}{{ end }}", d), "x1y2");  // sorted keys
  EXPECT_EQ(R("{{ range .L }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ . }}{{ end }}", d), "ac");
  EXPECT_EQ(R("{{ range .L }}{{ if eq . \"b\" }}{{ break }}{{ end }}{{ . }}{{ end }}", d), "a");
  EXPECT_EQ(R("{{ range 3 }}{{ . }}{{ end }}"), "012");
  // $ is the data everywhere.
  EXPECT_EQ(R("{{ range .L }}{{ len $.L }}{{ end }}", d), "333");
}

TEST(GoTemplate, WithAndVariables) {
  const json d = {{"A", {{"B", "b"}}}, {"Z", ""}};
  EXPECT_EQ(R("{{ with .A }}{{ .B }}{{ end }}", d), "b");
  EXPECT_EQ(R("{{ with .Z }}x{{ else }}none{{ end }}", d), "none");
  EXPECT_EQ(R("{{ with $x := .A.B }}{{ $x }}{{ . }}{{ end }}", d), "bb");
  EXPECT_EQ(R("{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}", d), "12");
  // Assignment inside range changes the outer variable; a declaration inside is scoped to it.
  EXPECT_EQ(R("{{ $n := 0 }}{{ range .L }}{{ $n = . }}{{ $t := 9 }}{{ end }}{{ $n }}", {{"L", {1, 2, 3}}}), "3");
  EXPECT_NE(error_of("{{ range .L }}{{ $t := 9 }}{{ end }}{{ $t }}", {{"L", {1}}}), "");
}

TEST(GoTemplate, PipelinesAndParentheses) {
  const json d = {{"S", "hello"}, {"L", {1, 2, 3}}};
  EXPECT_EQ(R("{{ .S | len }}", d), "5");
  EXPECT_EQ(R("{{ .S | printf \"%s!\" }}", d), "hello!");
  EXPECT_EQ(R("{{ \"b\" | eq \"a\" }}"), "false");
  EXPECT_EQ(R("{{ (index .L 1) }} {{ len (slice .L 1) }}", d), "2 2");
  EXPECT_EQ(R("{{ (index .M \"k\").V }}", {{"M", {{"k", {{"V", "deep"}}}}}}), "deep");
}

TEST(GoTemplate, ComparisonAndLogic) {
  EXPECT_EQ(R("{{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}"),
            "true true true true true false");
  EXPECT_EQ(R("{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" \"x\" }} {{ or 0 \"\" }} {{ not 0 }}"), "0 2 x  true");
  // and / or stop at the first deciding argument: the index error is never evaluated.
  EXPECT_EQ(R("{{ and false (index .L 9) }}{{ or true (index .L 9) }}", {{"L", json::array()}}), "falsetrue");
  EXPECT_EQ(R("{{ eq .Missing \"x\" }}"), "false");
}

TEST(GoTemplate, LenIndexSlice) {
  const json d = {{"S", "abcdef"}, {"L", {10, 20, 30, 40}}, {"M", {{"k", "v"}}}};
  EXPECT_EQ(R("{{ len .S }} {{ len .L }} {{ len .M }}", d), "6 4 1");
  EXPECT_EQ(R("{{ index .L 2 }} {{ index .M \"k\" }} {{ index .S 0 }}", d), "30 v 97");
  EXPECT_EQ(R("{{ slice .S 1 3 }} {{ slice .S 4 }} {{ slice .L 1 3 }} {{ slice .L }}", d), "bc ef [20 30] [10 20 30 40]");
}

TEST(GoTemplate, PrintFunctionsAndJson) {
  EXPECT_EQ(R("{{ print \"a\" 1 2 \"b\" }}"), "a1 2b");  // spaces only between non-strings
  EXPECT_EQ(R("{{ println \"a\" 1 }}"), "a 1\n");
  EXPECT_EQ(R("{{ printf \"%s=%d %v %q %5s|%-3d|%03d %%\" \"k\" 4 true \"q\\n\" \"r\" 7 5 }}"),
            "k=4 true \"q\\n\"     r|7  |005 %");
  EXPECT_EQ(R("{{ printf \"%d %s\" \"x\" }}"), "%!d(string=x) %!s(MISSING)");
  EXPECT_EQ(R("{{ printf \"%.2f\" 3.14159 }}"), "3.14");
  EXPECT_EQ(R("{{ .L }} {{ .M }}", {{"L", {1, "a"}}, {"M", {{"a", 1}}}}), "[1 a] map[a:1]");
  EXPECT_EQ(R("{{ json .V }}", {{"V", {{"b", "<x>&"}, {"a", {1, 2}}}}}),
            R"({"a":[1,2],"b":"\u003cx\u003e\u0026"})");
  EXPECT_EQ(R("{{ currentDate | len }}"), "10");
}

TEST(GoTemplate, VarsReportsReferencedFields) {
  const GoTemplate t = GoTemplate::parse("{{ range .Messages }}{{ .Role }}{{ end }}{{ $.Tools }}");
  EXPECT_TRUE(t.references("messages"));
  EXPECT_TRUE(t.references("role"));
  EXPECT_TRUE(t.references("tools"));
  EXPECT_FALSE(t.references("response"));
}

TEST(GoTemplate, ParseErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("ok\n  {{ if .X }}"), "template: t:2:6: unexpected EOF: {{if}} has no {{end}}");
  EXPECT_EQ(error_of("{{ nope .X }}"), "template: t:1:4: function \"nope\" not defined");
  EXPECT_EQ(error_of("a\nb {{ end }}"), "template: t:2:6: unexpected {{end}}");
  EXPECT_EQ(error_of("{{ .X "), "template: t:1:7: unclosed action");
  EXPECT_EQ(error_of("{{ \"abc }}"), "template: t:1:4: unterminated quoted string");
  EXPECT_EQ(error_of("{{ break }}"), "template: t:1:4: {{break}} outside {{range}}");
  EXPECT_EQ(error_of("{{ template \"x\" }}"), "template: t:1:4: {{template}} is not supported");
  EXPECT_EQ(error_of("{{ }}"), "template: t:1:4: missing value for command");
  EXPECT_EQ(error_of("{{/* open"), "template: t:1:1: unclosed comment");
  EXPECT_NE(error_of("{{ else }}"), "");
  EXPECT_NE(error_of("{{ 12ab }}"), "");
}

TEST(GoTemplate, ExecutionErrorsAreClear) {
  EXPECT_EQ(error_of("{{ .S.F }}", {{"S", "str"}}),
            "template: t:1:4: executing \"t\": can't evaluate field F in type string");
  EXPECT_EQ(error_of("{{ .A.B }}"), "template: t:1:4: executing \"t\": nil pointer evaluating interface {}.B");
  EXPECT_EQ(error_of("x\n{{ index .L 5 }}", {{"L", {1}}}),
            "template: t:2:4: executing \"t\": error calling index: index out of range: 5");
  EXPECT_EQ(error_of("{{ eq 1 \"a\" }}"),
            "template: t:1:4: executing \"t\": error calling eq: incompatible types for comparison");
  EXPECT_EQ(error_of("{{ $y }}"), "template: t:1:4: executing \"t\": undefined variable: $y");
  EXPECT_NE(error_of("{{ len 3 }}"), "");
  EXPECT_NE(error_of("{{ .X 1 }}", {{"X", 1}}), "");
  EXPECT_NE(error_of("{{ range .S }}{{ end }}", {{"S", "abc"}}), "");
}

}  // namespace
}  // namespace smolvlm
