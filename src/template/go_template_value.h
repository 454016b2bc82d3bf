// Go's view of nlohmann::json values inside templates (internal to src/template): truthiness,
// fmt's %v printing, comparisons and Printf, as text/template and package fmt define them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smolvlm::gotmpl {

// Go's "empty" values are false: nil, false, 0, "", empty arrays and maps.
bool truth(const nlohmann::json& v);
// fmt.Sprint of one value ("<nil>" for null, "[a b]" for arrays, "map[k:v]" for objects).
std::string sprint_value(const nlohmann::json& v);
// Go's type name for messages: string, int, float64, bool, []interface {}, map[string]interface {}.
std::string type_name(const nlohmann::json& v);
// fmt.Sprint / Sprintln / Sprintf over several values.
std::string sprint(const std::vector<nlohmann::json>& args);
std::string sprintln(const std::vector<nlohmann::json>& args);
std::string sprintf(const std::string& format, const std::vector<nlohmann::json>& args);
// strconv.Quote.
std::string go_quote(const std::string& s);
// encoding/json.Marshal (HTML characters escaped as \u003c \u003e \u0026, as Go does).
std::string go_json(const nlohmann::json& v);

// The eq / lt comparisons; throw Error with Go's messages on incomparable types.
bool go_equal(const nlohmann::json& a, const nlohmann::json& b);
bool go_less(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace smolvlm::gotmpl
