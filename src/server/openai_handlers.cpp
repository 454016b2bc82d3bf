// OpenAI-compatible routes (reference/ollama-contract.md §2): POST /v1/chat/completions (text and
// image_url data-URL parts; SSE streaming with a finish chunk, an optional usage chunk and
// [DONE]), POST /v1/completions, GET /v1/models and /v1/models/{model}. Errors in OpenAI's shape.
#include <httplib.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <ctime>
#include <memory>

#include "base/error.h"
#include "server/client_watch.h"
#include "server/routes.h"
#include "server/server_log.h"

namespace smolvlm::server {
namespace {

using json = nlohmann::json;
constexpr ErrorShape kShape = ErrorShape::kOpenAI;

std::atomic<int> g_next_id{0};

// data:image/{jpeg|jpg|png|webp};base64,... or data:;base64,... -> the bytes.
std::vector<uint8_t> image_from_url(const std::string& url) {
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0)
    throw ApiError(400, "image URLs are not currently supported, please use base64 encoded data instead");
  for (const char* prefix : {"data:image/jpeg;base64,", "data:image/jpg;base64,", "data:image/png;base64,",
                             "data:image/webp;base64,", "data:;base64,"}) {
    const std::string p = prefix;
    if (url.rfind(p, 0) == 0) return decode_base64(url.substr(p.size()));
  }
  throw ApiError(400, "invalid image input");
}

// OpenAI messages -> native ones: each content part becomes its own message with the same role;
// consecutive messages of one role are then merged (texts joined by "\n\n"), as the templates do.
std::vector<InputMessage> native_messages(const json& messages) {
  std::vector<InputMessage> parts;
  for (const json& m : messages) {
    if (!m.is_object()) throw ApiError(400, "invalid message format");
    const std::string role = m.value("role", "");
    const json content = m.contains("content") ? m["content"] : json();
    if (content.is_string()) {
      parts.push_back({role, content.get<std::string>(), {}});
    } else if (content.is_array()) {
      for (const json& part : content) {
        const std::string type = part.is_object() ? part.value("type", "") : "";
        if (type == "text" && part.contains("text") && part["text"].is_string()) {
          parts.push_back({role, part["text"].get<std::string>(), {}});
        } else if (type == "image_url" && part.contains("image_url")) {
          const json& iu = part["image_url"];
          std::string url;
          if (iu.is_string()) url = iu.get<std::string>();
          else if (iu.is_object() && iu.contains("url") && iu["url"].is_string()) url = iu["url"].get<std::string>();
          else throw ApiError(400, "invalid image input");
          parts.push_back({role, "", {image_from_url(url)}});
        } else {
          throw ApiError(400, "invalid message format");
        }
      }
    } else if (!content.is_null()) {
      throw ApiError(400, "invalid message content type");
    } else if (!m.contains("tool_calls")) {
      throw ApiError(400, "invalid message content type");
    }
  }
  std::vector<InputMessage> out;
  for (InputMessage& p : parts) {
    if (!out.empty() && out.back().role == p.role) {
      InputMessage& b = out.back();
      if (!p.content.empty()) b.content += (b.content.empty() ? "" : "\n\n") + p.content;
      for (auto& im : p.images) b.images.push_back(std::move(im));
    } else {
      out.push_back(std::move(p));
    }
  }
  return out;
}

// The request's sampling fields as Ollama options (temperature and top_p default to 1.0).
json openai_options(const json& j) {
  const Fields f{j, "ChatCompletionRequest"};
  json o = json::object();
  auto number = [&](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number()) f.type_error(key, "float64");
    return it->get<double>();
  };
  o["temperature"] = number("temperature").value_or(1.0);
  o["top_p"] = number("top_p").value_or(1.0);
  if (auto v = number("max_tokens")) o["num_predict"] = static_cast<int64_t>(*v);
  if (auto v = number("seed")) o["seed"] = static_cast<int64_t>(*v);
  if (auto v = number("frequency_penalty")) o["frequency_penalty"] = *v;
  if (auto v = number("presence_penalty")) o["presence_penalty"] = *v;
  if (auto it = j.find("stop"); it != j.end() && !it->is_null()) {
    if (it->is_string()) o["stop"] = json::array({*it});
    else if (it->is_array()) o["stop"] = *it;
    else f.type_error("stop", "any");
  }
  return o;
}

// response_format (ollama-contract §2): {"type":"json_object"} -> any JSON value,
// {"type":"json_schema","json_schema":{"schema":{...}}} -> that schema (its properties in the
// order the body writes them), anything else ("text", no schema) -> no constraint. An invalid
// schema: 400.
std::shared_ptr<const JsonSchema> response_format(const Fields& f, const std::string& body) {
  const json* rf = f.object("response_format");
  if (rf == nullptr) return nullptr;
  const auto type = rf->find("type");
  std::string t = type != rf->end() && type->is_string() ? type->get<std::string>() : "";
  t.erase(0, t.find_first_not_of(" \t\r\n"));
  t.erase(t.find_last_not_of(" \t\r\n") + 1);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "json_object") return JsonSchema::of_kind(JsonKind::kAny);
  if (t != "json_schema") return nullptr;
  const auto js = rf->find("json_schema");
  if (js == rf->end() || !js->is_object() || !js->contains("schema") || (*js)["schema"].is_null()) return nullptr;
  nlohmann::ordered_json schema;
  try {
    schema = nlohmann::ordered_json::parse(body).at("response_format").at("json_schema").at("schema");
  } catch (const nlohmann::json::exception&) {
    schema = nlohmann::ordered_json::parse((*js)["schema"].dump());  // (keys sorted)
  }
  try {
    return JsonSchema::compile(schema);
  } catch (const Error& e) {
    throw ApiError(400, cat("invalid response_format: ", e.what()));
  }
}

json usage(const GenerateResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.eval_tokens},
          {"total_tokens", r.prompt_tokens + r.eval_tokens}};
}

struct CompletionJob {
  std::string model, id;
  int64_t created = 0;
  bool include_usage = false;
  std::unique_ptr<ModelManager::Lease> lease;
  Prompt prompt;
  GenerateOptions options;
  json chunk(json delta, json finish) const {
    return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
            {"system_fingerprint", "fp_ollama"},
            {"choices", json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}})}};
  }
};

void chat_completions(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const Fields f{j, "ChatCompletionRequest"};
  auto job = std::make_shared<CompletionJob>();
  job->model = f.str("model").value_or("");
  const bool stream = f.boolean("stream").value_or(false);
  if (const json* so = f.object("stream_options")) job->include_usage = so->value("include_usage", false);
  const json* messages = f.array("messages");
  if (messages == nullptr || messages->empty()) throw ApiError(400, "[] is too short - 'messages'");
  if (const json* tools = f.array("tools"); tools != nullptr && !tools->empty())
    throw ApiError(400, cat("\"", job->model, "\" does not support tools"));
  std::vector<InputMessage> msgs = native_messages(*messages);
  const json options = openai_options(j);
  const auto format = response_format(f, req.body);
  if (job->model.empty()) throw ApiError(400, "model is required");
  const ResolvedModel m = ctx.models.resolve(job->model);
  RequestSettings s;
  apply_options(m.params, s);
  apply_options(options, s);
  if (!m.system.empty() && msgs.front().role != "system") msgs.insert(msgs.begin(), {"system", m.system, {}});

  job->lease = ctx.models.acquire(m, ctx.options.manager.keep_alive, s.num_ctx, s.num_thread, s.num_gpu);
  job->options = s.generate;
  job->options.json_schema = format;
  job->prompt = chat_prompt(*job->lease, msgs, m.template_text, &ctx.options.renderer, s.max_tiles);
  job->id = cat("chatcmpl-", g_next_id++ % 999);
  job->created = static_cast<int64_t>(std::time(nullptr));

  if (!stream) {
    const auto [r, text] = generate_whole(*job->lease, job->prompt, job->options, req);
    send_json(res, {{"id", job->id}, {"object", "chat.completion"}, {"created", job->created}, {"model", job->model},
                    {"system_fingerprint", "fp_ollama"},
                    {"choices", json::array({{{"index", 0},
                                              {"message", {{"role", "assistant"}, {"content", text}}},
                                              {"finish_reason", ollama_done_reason(r)}}})},
                    {"usage", usage(r)}});
    return;
  }
  res.set_chunked_content_provider("text/event-stream", [job](size_t, httplib::DataSink& sink) {
    auto event = [&](const std::string& data) {
      const std::string s = "data: " + data + "\n\n";
      return sink.write(s.data(), s.size());
    };
    auto dump = [](const json& x) { return x.dump(-1, ' ', false, json::error_handler_t::replace); };
    bool first = true;
    try {
      const GenerateResult r = run_generation(*job->lease, job->prompt, job->options, [&](std::string_view p) {
        json delta = {{"content", std::string(p)}};
        if (first) delta["role"] = "assistant";
        first = false;
        return event(dump(job->chunk(delta, nullptr)));
      });
      if (r.reason == DoneReason::kCancelled) return false;
      event(dump(job->chunk(json::object(), ollama_done_reason(r))));
      if (job->include_usage) {
        json u = job->chunk(json::object(), nullptr);
        u["choices"] = json::array();
        u["usage"] = usage(r);
        event(dump(u));
      }
    } catch (const std::exception& e) {
      note_request_error(e.what());
      event(dump({{"error", {{"message", e.what()}, {"type", "api_error"}, {"param", nullptr}, {"code", nullptr}}}}));
    }
    event("[DONE]");
    job->lease.reset();
    sink.done();
    return true;
  });
}

// POST /v1/completions: `prompt` (a string) as one user message through the chat template, as
// Ollama's generate does; "text_completion" objects, SSE chunks with choices[].text.
void completions(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const Fields f{j, "CompletionRequest"};
  auto job = std::make_shared<CompletionJob>();
  job->model = f.str("model").value_or("");
  const std::string prompt = f.str("prompt").value_or("");
  const bool stream = f.boolean("stream").value_or(false);
  if (const json* so = f.object("stream_options")) job->include_usage = so->value("include_usage", false);
  if (!f.str("suffix").value_or("").empty()) throw ApiError(400, cat("\"", job->model, "\" does not support insert"));
  const json options = openai_options(j);
  if (job->model.empty()) throw ApiError(400, "model is required");
  const ResolvedModel m = ctx.models.resolve(job->model);
  RequestSettings s;
  apply_options(m.params, s);
  apply_options(options, s);
  std::vector<InputMessage> msgs;
  if (!m.system.empty()) msgs.push_back({"system", m.system, {}});
  msgs.push_back({"user", prompt, {}});
  job->lease = ctx.models.acquire(m, ctx.options.manager.keep_alive, s.num_ctx, s.num_thread, s.num_gpu);
  job->options = s.generate;
  job->prompt = chat_prompt(*job->lease, msgs, m.template_text, &ctx.options.renderer, s.max_tiles);
  job->id = cat("cmpl-", g_next_id++ % 999);
  job->created = static_cast<int64_t>(std::time(nullptr));
  auto object = [job](json choice, const char* kind) {
    return json{{"id", job->id}, {"object", kind}, {"created", job->created}, {"model", job->model},
                {"system_fingerprint", "fp_ollama"}, {"choices", json::array({std::move(choice)})}};
  };
  if (!stream) {
    const auto [r, text] = generate_whole(*job->lease, job->prompt, job->options, req);
    json out = object({{"text", text}, {"index", 0}, {"finish_reason", ollama_done_reason(r)}}, "text_completion");
    out["usage"] = usage(r);
    send_json(res, out);
    return;
  }
  res.set_chunked_content_provider("text/event-stream", [job, object](size_t, httplib::DataSink& sink) {
    auto event = [&](const json& data) {
      const std::string s = "data: " + (data.is_string() ? data.get<std::string>() : data.dump(-1, ' ', false, json::error_handler_t::replace)) + "\n\n";
      return sink.write(s.data(), s.size());
    };
    try {
      const GenerateResult r = run_generation(*job->lease, job->prompt, job->options, [&](std::string_view p) {
        return event(object({{"text", std::string(p)}, {"index", 0}, {"finish_reason", nullptr}}, "text_completion"));
      });
      if (r.reason == DoneReason::kCancelled) return false;
      event(object({{"text", ""}, {"index", 0}, {"finish_reason", ollama_done_reason(r)}}, "text_completion"));
      if (job->include_usage) {
        json u = object({}, "text_completion");
        u["choices"] = json::array();
        u["usage"] = usage(r);
        event(u);
      }
    } catch (const std::exception& e) {
      note_request_error(e.what());
      event(json{{"error", {{"message", e.what()}, {"type", "api_error"}, {"param", nullptr}, {"code", nullptr}}}});
    }
    event(json("[DONE]"));
    job->lease.reset();
    sink.done();
    return true;
  });
}

int64_t unix_time(const std::string& rfc3339) {
  std::tm tm{};
  if (strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

// "registry.ollama.ai/library/x:tag" -> "library".
std::string owner_of(const std::string& full_name) {
  const size_t a = full_name.find('/');
  if (a == std::string::npos) return "library";
  const size_t b = full_name.find('/', a + 1);
  return b == std::string::npos ? full_name.substr(0, a) : full_name.substr(a + 1, b - a - 1);
}

json model_object(const std::string& id, const std::string& full, const std::string& modified_at) {
  return {{"id", id}, {"object", "model"}, {"created", unix_time(modified_at)}, {"owned_by", owner_of(full)}};
}

}  // namespace

void add_openai_routes(Router& r, const RouteContext& ctx) {
  r.post("/v1/chat/completions",
         [ctx](const httplib::Request& req, httplib::Response& res) { chat_completions(ctx, req, res); }, kShape);
  r.post("/v1/completions",
         [ctx](const httplib::Request& req, httplib::Response& res) { completions(ctx, req, res); }, kShape);
  r.get("/v1/models", [ctx](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    for (const ListedModel& m : ctx.models.list()) data.push_back(model_object(m.short_name, m.name, m.modified_at));
    send_json(res, {{"object", "list"}, {"data", data}});
  }, kShape);
  r.get(R"(/v1/models/(.+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    const ResolvedModel m = ctx.models.resolve(req.matches[1].str());
    send_json(res, model_object(m.short_name, m.name, m.modified_at));
  }, kShape);
}

}  // namespace smolvlm::server
