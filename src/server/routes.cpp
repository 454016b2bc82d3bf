#include "server/routes.h"

#include "base/error.h"
#include "server/server_log.h"

namespace smolvlm::server {

void send_json(httplib::Response& res, const nlohmann::json& j, int status) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, const std::string& message, ErrorShape shape) {
  note_request_error(message);
  if (status == 503) res.set_header("Retry-After", "1");  // a full queue or a draining replica: soon, or elsewhere
  if (shape == ErrorShape::kOllama) return send_json(res, {{"error", message}}, status);
  const char* type = status == 400 ? "invalid_request_error" : status == 404 ? "not_found_error" : "api_error";
  send_json(res, {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}}, status);
}

Router::Handler Router::wrap(Handler h, ErrorShape shape) const {
  return [h = std::move(h), shape](const httplib::Request& req, httplib::Response& res) {
    try {
      h(req, res);
    } catch (const ApiError& e) {
      send_error(res, e.status(), e.what(), shape);
    } catch (const nlohmann::json::exception& e) {
      send_error(res, 400, e.what(), shape);
    } catch (const std::exception& e) {
      send_error(res, 500, e.what(), shape);
    }
  };
}

httplib::Server::HandlerWithContentReader Router::limited(Handler h, ErrorShape shape) const {
  return [h = wrap(std::move(h), shape), shape, max = max_body_](
             const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    std::string body;
    bool too_large = false;
    reader([&](const char* data, size_t n) {
      if (!too_large && body.size() + n > max) too_large = true;
      if (!too_large) body.append(data, n);
      return true;  // a body over the limit is drained, so the connection stays in step
    });
    if (too_large) return send_error(res, 413, "request body too large", shape);
    httplib::Request copy = req;
    copy.body = std::move(body);
    h(copy, res);
  };
}

void Router::get(const std::string& path, Handler h, ErrorShape shape) {
  get_.insert(path);
  s_.Get(path, wrap(std::move(h), shape));
}
void Router::post(const std::string& path, Handler h, ErrorShape shape) {
  post_.insert(path);
  s_.Post(path, limited(h, shape));        // with a body
  s_.Post(path, wrap(std::move(h), shape));  // without
}
void Router::del(const std::string& path, Handler h, ErrorShape shape) {
  del_.insert(path);
  s_.Delete(path, limited(h, shape));
  s_.Delete(path, wrap(std::move(h), shape));
}

void Router::head(const std::string& path, Handler h) {
  head_.insert(path);
  // httplib routes HEAD to the GET handlers; a real GET gets 405.
  s_.Get(path, wrap([h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "HEAD") {
      res.status = 405;
      res.set_content("405 method not allowed", "text/plain");
      return;
    }
    h(req, res);
  }, ErrorShape::kOllama));
}

void Router::post_stream(const std::string& path, StreamHandler h) {
  post_.insert(path);
  s_.Post(path, [h = std::move(h)](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
    try {
      h(req, res, reader);
    } catch (const ApiError& e) {
      send_error(res, e.status(), e.what(), ErrorShape::kOllama);
    } catch (const std::exception& e) {
      send_error(res, 500, e.what(), ErrorShape::kOllama);
    }
  });
}

void Router::finish() {
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_content("405 method not allowed", "text/plain");
  };
  std::set<std::string> all = get_;
  all.insert(post_.begin(), post_.end());
  all.insert(del_.begin(), del_.end());
  all.insert(head_.begin(), head_.end());
  for (const std::string& p : all) {
    if (!get_.count(p) && !head_.count(p)) s_.Get(p, not_allowed);
    if (!post_.count(p)) s_.Post(p, not_allowed);
    if (!del_.count(p)) s_.Delete(p, not_allowed);
    s_.Put(p, not_allowed);
    s_.Patch(p, not_allowed);
  }
}

}  // namespace smolvlm::server
