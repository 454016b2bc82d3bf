// POST /api/generate and POST /api/chat (reference/ollama-contract.md §1.3, §1.4): streamed NDJSON
// by default, one JSON object with "stream": false; load / unload with an empty prompt.
#include <httplib.h>

#include <chrono>
#include <memory>

#include "base/error.h"
#include "server/client_watch.h"
#include "server/routes.h"
#include "server/server_log.h"

namespace smolvlm::server {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

std::string now() { return rfc3339(std::chrono::system_clock::now()); }

// What generate and chat share once the request is parsed.
struct Job {
  std::string model;  // echoed verbatim
  std::unique_ptr<ModelManager::Lease> lease;
  Prompt prompt;
  GenerateOptions options;
  Clock::time_point t0;
  bool chat = false;
  bool with_context = false;  // generate, not raw
};

std::vector<std::vector<uint8_t>> decode_images(const json* images, const char* go_field) {
  std::vector<std::vector<uint8_t>> out;
  if (images == nullptr) return out;
  for (const json& im : *images) {
    if (!im.is_string())
      throw ApiError(400, cat("json: cannot unmarshal ", im.type_name(), " into Go struct field ", go_field,
                              " of type api.ImageData"));
    out.push_back(decode_base64(im.get<std::string>()));
  }
  return out;
}

// The request's "format": "json" constrains the reply to one JSON value, a JSON Schema object to
// a value matching it (runtime/json_schema.h says which keywords are enforced); null / "" is no
// constraint (nullptr). The schema is read again from the raw body so that its properties keep
// the order they are written in (nlohmann::json sorts keys), as llama.cpp emits them.
std::shared_ptr<const JsonSchema> parse_format(const json& j, const std::string& body) {
  auto it = j.find("format");
  if (it == j.end() || it->is_null()) return nullptr;
  if (it->is_object()) {
    nlohmann::ordered_json schema;
    try {
      schema = nlohmann::ordered_json::parse(body).at("format");
    } catch (const nlohmann::json::exception&) {
      schema = nlohmann::ordered_json::parse(it->dump());  // (keys sorted)
    }
    try {
      return JsonSchema::compile(schema);
    } catch (const Error& e) {
      throw ApiError(400, cat("invalid format: ", e.what()));
    }
  }
  if (it->is_string() && it->get<std::string>().empty()) return nullptr;
  if (it->is_string() && it->get<std::string>() == "json") return JsonSchema::of_kind(JsonKind::kAny);
  throw ApiError(400, cat("invalid format: ", it->dump(), "; expected \"json\" or a valid JSON Schema object"));
}

void check_think(const json& j, const std::string& model) {
  auto it = j.find("think");
  if (it == j.end() || it->is_null() || (it->is_boolean() && !it->get<bool>())) return;
  if (it->is_boolean() || (it->is_string() && (*it == "low" || *it == "medium" || *it == "high" || *it == "max")))
    throw ApiError(400, cat("\"", model, "\" does not support thinking"));
  throw ApiError(400, cat("invalid think value: ", it->dump()));
}

// The model's settings (params layer) then the request's options.
RequestSettings settings_for(const ResolvedModel& m, const json* options) {
  RequestSettings s;
  apply_options(m.params, s);
  if (options != nullptr) apply_options(*options, s);
  return s;
}

// The final object of a generation: the last stream line, or the whole non-stream answer.
json final_object(const Job& job, const GenerateResult& r, const std::string& text) {
  json out = {{"model", job.model}, {"created_at", now()}};
  if (job.chat) out["message"] = {{"role", "assistant"}, {"content", text}};
  else out["response"] = text;
  out["done"] = true;
  const double total = std::chrono::duration<double>(Clock::now() - job.t0).count();
  add_metrics(out, r, total, job.lease->load_seconds());
  add_media_metrics(out, job.prompt);
  if (job.with_context) {
    std::vector<int32_t> ctx = job.prompt.ids;
    const bool eog = !r.tokens.empty() && job.lease->model().tokenizer().is_eog(r.tokens.back());
    ctx.insert(ctx.end(), r.tokens.begin(), r.tokens.end() - (eog ? 1 : 0));
    out["context"] = ctx;
  }
  return out;
}

// Runs the job: one JSON answer, or NDJSON lines from a chunked provider on this connection's
// thread (a failed write -- the client went away -- cancels the generation).
void respond(std::shared_ptr<Job> job, bool stream, const httplib::Request& req, httplib::Response& res) {
  if (!stream) {
    const WholeReply w = generate_whole(*job->lease, job->prompt, job->options, req);
    send_json(res, final_object(*job, w.result, w.text));
    return;
  }
  res.set_chunked_content_provider(
      "application/x-ndjson", [job](size_t, httplib::DataSink& sink) {
        auto line = [&](const json& j) {
          const std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
          return sink.write(s.data(), s.size());
        };
        try {
          const GenerateResult r =
              run_generation(*job->lease, job->prompt, job->options, [&](std::string_view piece) {
                json chunk = {{"model", job->model}, {"created_at", now()}};
                if (job->chat) chunk["message"] = {{"role", "assistant"}, {"content", std::string(piece)}};
                else chunk["response"] = std::string(piece);
                chunk["done"] = false;
                return line(chunk);
              });
          if (r.reason == DoneReason::kCancelled) return false;  // the client is gone
          line(final_object(*job, r, ""));
        } catch (const std::exception& e) {
          note_request_error(e.what());
          line({{"error", e.what()}});  // mid-stream: one error line, status stays 200
        }
        job->lease.reset();  // the slot is free before the connection closes
        sink.done();
        return true;
      });
}

// Empty prompt / no messages: load the model (done_reason "load"), or unload it with keep_alive 0.
void load_or_unload(const RouteContext& ctx, const ResolvedModel& m, const std::string& model, bool chat,
                    std::optional<Seconds> keep_alive, const RequestSettings& s, httplib::Response& res) {
  json out = {{"model", model}, {"created_at", now()}};
  if (chat) out["message"] = {{"role", "assistant"}, {"content", ""}};
  else out["response"] = "";
  out["done"] = true;
  if (keep_alive && keep_alive->count() == 0) {
    ctx.models.unload(m.name);
    out["done_reason"] = "unload";
  } else {
    ctx.models.acquire(m, keep_alive, s.num_ctx, s.num_thread, s.num_gpu);  // released at once: the timer starts
    out["done_reason"] = "load";
  }
  send_json(res, out);
}

void generate(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto job = std::make_shared<Job>();
  job->t0 = Clock::now();
  const json j = parse_body(req.body);
  const Fields f{j, "GenerateRequest"};
  job->model = f.str("model").value_or(f.str("name").value_or(""));
  const std::string prompt = f.str("prompt").value_or("");
  const auto system = f.str("system");
  const auto tmpl = f.str("template");
  const std::string suffix = f.str("suffix").value_or("");
  const bool raw = f.boolean("raw").value_or(false);
  const bool stream = f.boolean("stream").value_or(true);
  std::vector<int32_t> context;
  if (const json* c = f.array("context"))
    for (const json& id : *c) {
      if (!id.is_number_integer())
        throw ApiError(400, cat("json: cannot unmarshal ", id.type_name(),
                                " into Go struct field GenerateRequest.context of type int"));
      context.push_back(id.get<int32_t>());
    }
  const auto images = decode_images(f.array("images"), "GenerateRequest.images");
  const json* options = f.object("options");
  const auto format = parse_format(j, req.body);
  const auto keep_alive = parse_keep_alive(j.contains("keep_alive") ? &j["keep_alive"] : nullptr,
                                           ctx.options.manager.keep_alive);
  if (job->model.empty()) throw ApiError(400, "model is required");
  const ResolvedModel m = ctx.models.resolve(job->model);
  check_think(j, job->model);
  if (raw && (tmpl || system || !context.empty()))
    throw ApiError(400, "raw mode does not support template, system, or context");
  if (!suffix.empty()) throw ApiError(400, cat("\"", job->model, "\" does not support insert"));
  if (tmpl && !tmpl->empty() && !ctx.options.renderer) throw ApiError(500, "template overrides are not supported yet");
  RequestSettings s = settings_for(m, options);
  if (prompt.empty() && images.empty()) return load_or_unload(ctx, m, job->model, false, keep_alive, s, res);

  job->lease = ctx.models.acquire(m, keep_alive, s.num_ctx, s.num_thread, s.num_gpu);
  job->options = s.generate;
  job->options.json_schema = format;
  job->with_context = !raw;
  if (raw) {
    job->prompt = raw_prompt(*job->lease, prompt, images, s.max_tiles);
  } else {
    std::vector<InputMessage> msgs;
    const std::string sys = system.value_or(m.system);
    if (!sys.empty()) msgs.push_back({"system", sys, {}});
    if (context.empty())
      for (const json& hm : m.messages)
        msgs.push_back({hm.value("role", "user"), hm.value("content", ""), {}});
    msgs.push_back({"user", prompt, images});
    job->prompt = chat_prompt(*job->lease, msgs, tmpl.value_or(m.template_text), &ctx.options.renderer,
                              s.max_tiles, context, tmpl.has_value() && !tmpl->empty());
  }
  respond(job, stream, req, res);
}

std::vector<InputMessage> parse_messages(const json* messages) {
  std::vector<InputMessage> out;
  if (messages == nullptr) return out;
  for (const json& mj : *messages) {
    if (!mj.is_object())
      throw ApiError(400, cat("json: cannot unmarshal ", mj.type_name(),
                              " into Go struct field ChatRequest.messages of type api.Message"));
    const Fields mf{mj, "ChatRequest.messages"};
    InputMessage m;
    m.role = mf.str("role").value_or("");
    for (char& c : m.role) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    m.content = mf.str("content").value_or("");
    m.images = decode_images(mf.array("images"), "ChatRequest.messages.images");
    m.videos = decode_images(mf.array("videos"), "ChatRequest.messages.videos");  // our extension
    out.push_back(std::move(m));
  }
  return out;
}

void chat(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto job = std::make_shared<Job>();
  job->t0 = Clock::now();
  job->chat = true;
  const json j = parse_body(req.body);
  const Fields f{j, "ChatRequest"};
  job->model = f.str("model").value_or(f.str("name").value_or(""));
  const bool stream = f.boolean("stream").value_or(true);
  std::vector<InputMessage> messages = parse_messages(f.array("messages"));
  const json* tools = f.array("tools");
  const json* options = f.object("options");
  const auto format = parse_format(j, req.body);
  const auto keep_alive = parse_keep_alive(j.contains("keep_alive") ? &j["keep_alive"] : nullptr,
                                           ctx.options.manager.keep_alive);
  if (job->model.empty()) throw ApiError(400, "model is required");
  const ResolvedModel m = ctx.models.resolve(job->model);
  check_think(j, job->model);
  if (tools != nullptr && !tools->empty()) throw ApiError(400, cat("\"", job->model, "\" does not support tools"));
  RequestSettings s = settings_for(m, options);
  if (messages.empty()) return load_or_unload(ctx, m, job->model, true, keep_alive, s, res);

  // The model's MESSAGE history first; its SYSTEM unless the request starts with a system message.
  std::vector<InputMessage> all;
  if (!m.system.empty() && messages.front().role != "system") all.push_back({"system", m.system, {}});
  for (const json& hm : m.messages) all.push_back({hm.value("role", "user"), hm.value("content", ""), {}});
  all.insert(all.end(), messages.begin(), messages.end());

  job->lease = ctx.models.acquire(m, keep_alive, s.num_ctx, s.num_thread, s.num_gpu);
  job->options = s.generate;
  job->options.json_schema = format;
  job->prompt = chat_prompt(*job->lease, all, m.template_text, &ctx.options.renderer, s.max_tiles);
  respond(job, stream, req, res);
}

}  // namespace

void add_generation_routes(Router& r, const RouteContext& ctx) {
  r.post("/api/generate", [ctx](const httplib::Request& req, httplib::Response& res) { generate(ctx, req, res); });
  r.post("/api/chat", [ctx](const httplib::Request& req, httplib::Response& res) { chat(ctx, req, res); });
}

}  // namespace smolvlm::server
