// GET|HEAD /, /api/version, /api/tags, POST /api/show, GET /api/ps (reference/ollama-contract.md
// §1.1, §1.2, §1.11, §1.12, §1.18).
#include <httplib.h>

#include "base/error.h"
#include "io/gguf.h"
#include "server/routes.h"

namespace smolvlm::server {
namespace {

using json = nlohmann::json;

// The Ollama API version we implement (numeric X.Y.Z: clients parse it).
constexpr const char* kApiVersion = "0.33.0";

std::string strip_sha(const std::string& d) { return d.rfind("sha256:", 0) == 0 ? d.substr(7) : d; }

// details.families as a list (clients iterate it): [family] when the config blob has none.
json with_families(json details) {
  if (details.is_object() && details.value("families", json()).is_null()) {
    const json family = details.value("family", json(""));
    details["families"] = family.is_string() && family != "" ? json::array({family}) : json(nullptr);
  }
  return details;
}

// /api/show from the store's ShowInfo; the request's `system` overrides the one shown, and the
// template is the Modelfile TEMPLATE or, on the native path, the GGUF's chat template (§1.12).
void show(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const Fields f{j, "ShowRequest"};
  const std::string name = f.str("model").value_or(f.str("name").value_or(""));
  const bool verbose = f.boolean("verbose").value_or(false);
  if (name.empty()) throw ApiError(400, "model is required");
  ctx.models.resolve(name);  // 404 / 400 with Ollama's messages
  if (ctx.models.store() == nullptr) throw ApiError(501, "this server has no model store");
  ShowInfo info;
  std::string tmpl;
  json tensors = json::array();
  try {
    info = ctx.models.store()->show(name, verbose);
    tmpl = info.model.template_text;
    const GgufFile text = GgufFile::open(info.model.text_path);
    if (tmpl.empty())
      if (const GgufValue* t = text.find("tokenizer.chat_template")) tmpl = t->as_str();
    if (verbose)
      for (const GgufTensorInfo& t : text.tensors())
        tensors.push_back({{"name", t.name}, {"type", ggml_type_name(t.type)}, {"shape", t.ne}});
  } catch (const Error& e) {
    throw ApiError(500, e.what());
  }
  std::string license;  // Ollama joins the license layers with newlines
  for (const std::string& l : info.licenses) license += (license.empty() ? "" : "\n") + l;
  json out = {{"license", license},
              {"modelfile", info.modelfile},
              {"parameters", info.parameters},
              {"template", tmpl},
              {"system", f.str("system").value_or(info.model.system)},
              {"details", with_families(info.details)},
              {"messages", info.model.messages},
              {"model_info", info.model_info.is_null() ? json::object() : info.model_info},
              {"capabilities", info.capabilities},
              {"modified_at", info.model.modified_at}};
  if (!info.projector_info.is_null()) out["projector_info"] = info.projector_info;
  if (verbose) out["tensors"] = tensors;
  send_json(res, out);
}

void tags(const RouteContext& ctx, httplib::Response& res) {
  json models = json::array();
  for (const ListedModel& m : ctx.models.list())
    models.push_back({{"name", m.short_name}, {"model", m.short_name}, {"modified_at", m.modified_at},
                      {"size", m.size}, {"digest", strip_sha(m.digest)}, {"details", with_families(m.details)}});
  send_json(res, {{"models", models}});
}

}  // namespace

void add_native_routes(Router& r, const RouteContext& ctx) {
  r.get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("Ollama is running", "text/plain; charset=utf-8"); });
  r.get("/api/version", [](const httplib::Request&, httplib::Response& res) { send_json(res, {{"version", kApiVersion}}); });
  r.get("/api/tags", [ctx](const httplib::Request&, httplib::Response& res) { tags(ctx, res); });
  r.get("/api/ps", [ctx](const httplib::Request&, httplib::Response& res) { send_json(res, {{"models", ctx.models.ps()}}); });
  r.post("/api/show", [ctx](const httplib::Request& req, httplib::Response& res) { show(ctx, req, res); });
  add_generation_routes(r, ctx);
}

}  // namespace smolvlm::server
