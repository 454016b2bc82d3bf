// The chat page: GET /ui (and /ui/<file>) from the files embedded in the binary, with a strict
// Content-Security-Policy (everything from this origin; images and videos also from blob: URLs the
// page makes of attachments), and POST /api/media/plan, our extension that tells the page what an
// attachment will cost (tiles, frames, image tokens) before it is sent, from the projector's
// metadata, exactly as the encoder will plan it.
#include <httplib.h>

#include <cmath>
#include <cstdio>

#include "base/error.h"
#include "io/gguf.h"
#include "media/video_sampling.h"
#include "model/vision/vision_config.h"
#include "runtime/media_encoder.h"
#include "server/api_types.h"
#include "server/routes.h"
#include "server/ui_assets.h"

namespace smolvlm::server {
namespace {

using json = nlohmann::json;

constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// A weak validator of the asset's bytes (FNV-1a), so a reload revalidates instead of downloading.
std::string etag_of(std::span<const unsigned char> bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char b : bytes) h = (h ^ b) * 1099511628211ull;
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

void serve_asset(const UiAsset& a, const std::string& etag, const httplib::Request& req, httplib::Response& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("ETag", etag);
  if (req.get_header_value("If-None-Match") == etag) {
    res.status = 304;
    return;
  }
  res.set_content(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size(), a.content_type);
}

int int_field(const json& o, const char* key, const char* what) {
  const auto it = o.find(key);
  if (it == o.end() || !it->is_number() || !(it->get<double>() > 0) || it->get<double>() > 1e6)
    throw ApiError(400, cat(what, ".", key, " must be a positive number of pixels"));
  return static_cast<int>(std::lround(it->get<double>()));
}

// {"model", "images": [{"width", "height"}], "videos": [{"duration"}], "options": {"max_tiles"}} ->
// {"tokens_per_frame", "images": [{"rows", "cols", "frames", "tokens"}], "videos": [{"frames", "tokens"}]}.
// A video's frames are what the sampler takes from a clip of that duration (at an assumed 30 fps).
void plan_media(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const Fields f{j, "PlanRequest"};
  const std::string name = f.str("model").value_or("");
  if (name.empty()) throw ApiError(400, "model is required");
  const ResolvedModel m = ctx.models.resolve(name);
  if (m.mmproj_path.empty())
    throw ApiError(400, cat("\"", name, "\" cannot see images: it has no vision projector"));
  RequestSettings s;
  apply_options(m.params, s);
  if (const json* o = f.object("options")) apply_options(*o, s);
  MediaOptions mo;
  mo.max_tiles = s.max_tiles;
  json out = {{"images", json::array()}, {"videos", json::array()}, {"max_tiles", s.max_tiles}};
  try {
    const GgufFile mmproj = GgufFile::open(m.mmproj_path);
    const int64_t tokens_per_frame = read_vision_config(mmproj).tokens_per_tile();
    out["tokens_per_frame"] = tokens_per_frame;
    if (const json* images = f.array("images"))
      for (const json& im : *images) {
        if (!im.is_object()) throw ApiError(400, "images: each entry is {\"width\": W, \"height\": H}");
        const MediaCost c = plan_image_cost(mmproj, int_field(im, "height", "images"), int_field(im, "width", "images"), mo);
        out["images"].push_back({{"rows", c.rows}, {"cols", c.cols}, {"frames", c.frames}, {"tokens", c.tokens}});
      }
    if (const json* videos = f.array("videos"))
      for (const json& v : *videos) {
        const auto d = v.is_object() ? v.find("duration") : v.end();
        if (d == v.end() || !d->is_number() || !(d->get<double>() > 0) || d->get<double>() > 1e6)
          throw ApiError(400, "videos: each entry is {\"duration\": seconds}");
        const double seconds = d->get<double>();
        const int64_t total = std::max<int64_t>(1, std::llround(seconds * 30.0));
        const int64_t frames = static_cast<int64_t>(
            sample_video_frames(total, 30.0, seconds, {mo.video_fps, mo.video_max_frames}).indices.size());
        out["videos"].push_back({{"frames", frames}, {"tokens", frames * tokens_per_frame}});
      }
  } catch (const Error& e) {
    throw ApiError(500, e.what());
  }
  send_json(res, out);
}

}  // namespace

void add_ui_routes(Router& r, const RouteContext& ctx) {
  for (const UiAsset& a : ui_assets()) {
    const std::string name = a.name;
    const std::string etag = etag_of(a.bytes);
    auto handler = [&a, etag](const httplib::Request& req, httplib::Response& res) { serve_asset(a, etag, req, res); };
    if (name == "index.html") {
      r.get("/ui", handler);
      r.get("/ui/", handler);
    }
    r.get("/ui/" + name, handler);
  }
  r.post("/api/media/plan", [ctx](const httplib::Request& req, httplib::Response& res) { plan_media(ctx, req, res); });
}

}  // namespace smolvlm::server
