// Model management over the store (reference/ollama-contract.md §1.13-§1.15, §1.19): POST
// /api/copy, DELETE /api/delete, POST /api/create (files by digest and/or `from`), HEAD and POST
// /api/blobs/:digest (POST streams the body to disk and checks its digest); POST /api/pull is in
// pull_handler.cpp.
#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "base/error.h"
#include "server/pull_handler.h"
#include "server/routes.h"
#include "store/create.h"
#include "server/server_log.h"

namespace smolvlm::server {
namespace {

using json = nlohmann::json;

ModelStore& store_of(const RouteContext& ctx) {
  if (ctx.models.store() == nullptr) throw ApiError(501, "this server has no model store");
  return *ctx.models.store();
}

// Maps the store's errors to Ollama's statuses: "not found" -> 404, the rest -> 400.
[[noreturn]] void rethrow_store_error(const Error& e) {
  const std::string msg = e.what();
  if (msg.find("not found") != std::string::npos) throw ApiError(404, msg);
  throw ApiError(400, msg);
}

std::string name_field(const Fields& f) { return f.str("model").value_or(f.str("name").value_or("")); }

void copy(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const Fields f{j, "CopyRequest"};
  const std::string src = f.str("source").value_or(""), dst = f.str("destination").value_or("");
  if (src.empty() || dst.empty()) throw ApiError(400, "source and destination are required");
  try {
    store_of(ctx).copy(src, dst);
  } catch (const Error& e) {
    rethrow_store_error(e);
  }
  res.status = 200;
}

void remove(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const Fields f{j, "DeleteRequest"};
  const std::string name = name_field(f);
  if (name.empty()) throw ApiError(400, "model is required");
  try {
    const ResolvedModel m = ctx.models.resolve(name);
    ctx.models.unload(m.name);
    store_of(ctx).remove(name);
  } catch (const Error& e) {
    rethrow_store_error(e);
  }
  res.status = 200;
}

struct ClientGone : std::exception {};

// A quantizing create can take minutes: its statuses stream as they happen ("quantizing F16 model to
// Q4_K_M", ...), as Ollama's do; an error after the stream began is one {"error": ...} line (status
// 200). A client that goes away stops the create at its next status (nothing half-made is kept).
void create_streamed(const RouteContext& ctx, CreateRequest c, httplib::Response& res) {
  ModelStore* store = &store_of(ctx);
  const ModelQuantizer quantize = ctx.options.quantize;
  auto req = std::make_shared<CreateRequest>(std::move(c));
  res.set_chunked_content_provider("application/x-ndjson", [store, quantize, req](size_t, httplib::DataSink& sink) {
    auto line = [&](const json& l) {
      const std::string out = l.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
      return sink.write(out.data(), out.size());
    };
    try {
      create_model(*store, *req, [&](const std::string& status) {
        if (!line({{"status", status}})) throw ClientGone();
      }, quantize);
    } catch (const ClientGone&) {
      return false;
    } catch (const std::exception& e) {
      note_request_error(e.what());
      line({{"error", e.what()}});
    }
    sink.done();
    return true;
  });
}

void create(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const Fields f{j, "CreateRequest"};
  CreateRequest c;
  c.model = name_field(f);
  c.from = f.str("from").value_or("");
  if (const json* files = f.object("files"))
    for (const auto& [name, digest] : files->items()) {
      if (!digest.is_string()) throw ApiError(400, "json: cannot unmarshal into Go struct field CreateRequest.files of type string");
      c.files.push_back({name, digest.get<std::string>()});
    }
  if (const json* a = f.object("adapters"); a != nullptr && !a->empty()) throw ApiError(400, "adapters are not supported");
  c.quantize = f.str("quantize").value_or(f.str("quantization").value_or(""));
  if (!c.quantize.empty() && !ctx.options.quantize)
    throw ApiError(400, cat("quantize is not available in this server (use `smolvlm create -q ", c.quantize, "`)"));
  c.template_text = f.str("template");
  c.system = f.str("system");
  if (auto it = j.find("license"); it != j.end() && !it->is_null()) {
    if (it->is_string()) c.licenses.push_back(it->get<std::string>());
    else if (it->is_array())
      for (const json& l : *it) c.licenses.push_back(l.is_string() ? l.get<std::string>() : l.dump());
    else f.type_error("license", "string");
  }
  if (const json* p = f.object("parameters")) c.parameters = *p;
  if (const json* m = f.array("messages"))
    for (const json& msg : *m) c.messages.push_back(msg);
  const bool stream = f.boolean("stream").value_or(true);
  if (c.model.empty()) throw ApiError(400, "invalid model name");
  if (c.from.empty() && c.files.empty()) throw ApiError(400, "neither 'from' or 'files' was specified");

  if (!ModelName::try_parse(c.model)) throw ApiError(400, "invalid model name");
  if (stream && !c.quantize.empty()) return create_streamed(ctx, std::move(c), res);

  std::vector<json> lines;
  try {
    create_model(store_of(ctx), c, [&](const std::string& status) { lines.push_back({{"status", status}}); },
                 ctx.options.quantize);
  } catch (const Error& e) {
    rethrow_store_error(e);
  }
  // create_model's last status is "success". Without quantization a create takes a moment: the lines
  // are sent once it is done, so that its errors still get their HTTP status.
  if (lines.empty() || lines.back()["status"] != "success") lines.push_back({{"status", "success"}});
  if (!stream) return send_json(res, lines.back());
  std::string body;
  for (const json& l : lines) body += l.dump() + "\n";
  res.set_content(body, "application/x-ndjson");
}

// "sha256:<hex>" or "sha256-<hex>" -> "sha256:<hex>"; 400 otherwise.
std::string blob_digest(const std::string& d) {
  static const std::regex re("^sha256[:-][0-9a-fA-F]{64}$");
  if (!std::regex_match(d, re)) throw ApiError(400, "invalid digest format");
  return "sha256:" + d.substr(7);
}

void head_blob(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string d = blob_digest(req.matches[1].str());
  if (!store_of(ctx).blob_exists(d)) throw ApiError(404, cat("blob \"", d, "\" not found"));
  res.status = 200;
}

// Streams the body into a temporary file in blobs/, then into the store (which hashes and renames).
void post_blob(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader) {
  const std::string d = blob_digest(req.matches[1].str());
  ModelStore& store = store_of(ctx);
  if (store.blob_exists(d)) {
    reader([](const char*, size_t) { return true; });  // drained unread: the client may still be sending
    store.put_blob(d, [](char*, size_t) { return size_t{0}; });  // touches it (the prune spares it)
    res.status = 200;
    return;
  }
  std::filesystem::create_directories(store.blobs().dir());
  std::string tmp = store.blobs().dir() + "/sha256-upload-XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) throw ApiError(500, cat("cannot create a temporary file in ", store.blobs().dir()));
  struct Cleanup {
    int fd;
    std::string path;
    ~Cleanup() {
      if (fd >= 0) ::close(fd);
      std::remove(path.c_str());
    }
  } cleanup{fd, tmp};
  bool ok = true;
  reader([&](const char* data, size_t n) {
    while (n > 0 && ok) {
      const ssize_t w = ::write(fd, data, n);
      if (w <= 0) ok = false;
      else data += w, n -= static_cast<size_t>(w);
    }
    return ok;
  });
  if (!ok) throw ApiError(500, "cannot write the uploaded blob");
  std::ifstream in(tmp, std::ios::binary);
  try {
    const BlobInfo info = store.put_blob(d, [&](char* buf, size_t n) {
      in.read(buf, static_cast<std::streamsize>(n));
      return static_cast<size_t>(in.gcount());
    });
    res.status = info.created ? 201 : 200;
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
}

}  // namespace

void add_store_routes(Router& r, const RouteContext& ctx) {
  r.post("/api/copy", [ctx](const httplib::Request& req, httplib::Response& res) { copy(ctx, req, res); });
  r.del("/api/delete", [ctx](const httplib::Request& req, httplib::Response& res) { remove(ctx, req, res); });
  r.post("/api/create", [ctx](const httplib::Request& req, httplib::Response& res) { create(ctx, req, res); });
  r.head(R"(/api/blobs/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res) { head_blob(ctx, req, res); });
  r.post_stream(R"(/api/blobs/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res,
                                                const httplib::ContentReader& reader) { post_blob(ctx, req, res, reader); });
  add_pull_route(r, ctx);
}

}  // namespace smolvlm::server
