// `smolvlm export` (src/store/export.h, src/cli/cmd_export.cpp): a folder Ollama's `create -f` takes
// (two relative FROM lines to byte-identical GGUFs, SmolVLM2's TEMPLATE rendering what the native
// template renders, the stop token), a store model's layers carried over so that re-creating it
// gives the same layers (reference/ollama-contract.md §7: media types, digests, config fields),
// --to-store writing manifests/registry.ollama.ai/library/NAME/TAG plus blobs, and the bad inputs:
// an existing DIR (refused without --force), an unknown model, files of the wrong kind.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "base/error.h"
#include "store/create.h"
#include "store/export.h"
#include "store/manifest.h"
#include "store/modelfile.h"
#include "store/model_store.h"
#include "support/testing.h"
#include "template/ollama_prompt.h"
#include "tokenizer/chat_template.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using testing::run_smolvlm;
using testing::TempDir;

const char* const kText = "golden/tiny512/gguf/text-Q8_0.gguf";
const char* const kMmproj = "golden/tiny512/gguf/mmproj-F32.gguf";

std::string text_of(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
std::string sha_of(const fs::path& p) { return "sha256:" + testing::sha256_hex(testing::read_file(p)); }
std::string sha_of_text(const std::string& s) { return "sha256:" + testing::sha256_hex({s.begin(), s.end()}); }
std::string src(const char* rel) { return testing::shared_path(rel).string(); }

// Sets environment variables for the CLI runs of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* key, const std::string& value) : key_(key) {
    if (const char* old = std::getenv(key)) old_ = old;
    ::setenv(key, value.c_str(), 1);
  }
  ~ScopedEnv() { old_ ? (void)::setenv(key_.c_str(), old_->c_str(), 1) : (void)::unsetenv(key_.c_str()); }

 private:
  std::string key_;
  std::optional<std::string> old_;
};

// The shipped SmolVLM2 Modelfile's TEMPLATE (modelfiles/), the reference for bare-GGUF exports.
std::string shipped_template() {
  const fs::path p = testing::repo_root() / "modelfiles" /
                     "smolvlm2-256m-q8_0.Modelfile";
  return *parse_modelfile(text_of(p)).template_text;
}

// (media type, digest) of every layer, sorted, and the config digest.
std::vector<std::pair<std::string, std::string>> layer_ids(const Manifest& m) {
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& l : m.layers) v.emplace_back(l.media_type, l.digest);
  std::sort(v.begin(), v.end());
  return v;
}
const ManifestLayer& layer(const Manifest& m, const char* type) {
  const ManifestLayer* l = m.first(type);
  if (l == nullptr) throw std::runtime_error(std::string("no layer ") + type);
  return *l;
}

// A model created from the golden GGUFs in `root` with the given settings.
ResolvedModel make_store_model(ModelStore& store, const std::string& name, const CreateRequest& settings) {
  CreateRequest req = settings;
  req.model = name;
  req.files = {{"text-Q8_0.gguf", store.blobs().put_file(src(kText)).digest},
               {"mmproj-F32.gguf", store.blobs().put_file(src(kMmproj)).digest}};
  return create_model(store, req);
}

// Creates `name` in a fresh store from DIR/Modelfile, as `ollama create name -f DIR/Modelfile` does.
Manifest recreate(const fs::path& root, const fs::path& dir, const std::string& name) {
  ModelStore store(root.string());
  const Modelfile mf = parse_modelfile(text_of(dir / "Modelfile"), (dir / "Modelfile").string());
  create_model(store, create_request_from_modelfile(store, name, mf, dir.string()));
  return store.read_manifest(ModelName::parse(name));
}

TEST(Export, FromFilesWritesIdenticalGgufsAndAModelfileOllamaAccepts) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  const fs::path dir = tmp / "out";
  const auto r = run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ollama create tiny512:q8_0 -f " + (dir / "Modelfile").string()), std::string::npos) << r.out;

  // Names from general.name and the file types; bytes identical to the sources.
  EXPECT_EQ(sha_of(dir / "tiny512-Q8_0.gguf"), sha_of(src(kText)));
  EXPECT_EQ(sha_of(dir / "mmproj-tiny512-F32.gguf"), sha_of(src(kMmproj)));
  EXPECT_TRUE(fs::exists(dir / "README.txt"));

  const std::string text = text_of(dir / "Modelfile");
  const Modelfile mf = parse_modelfile(text, "Modelfile");
  EXPECT_EQ(mf.from, (std::vector<std::string>{"./tiny512-Q8_0.gguf", "./mmproj-tiny512-F32.gguf"}));
  const ModelfileSources s = modelfile_sources(mf, dir.string());
  EXPECT_EQ(s.paths, (std::vector<std::string>{(dir / "tiny512-Q8_0.gguf").string(), (dir / "mmproj-tiny512-F32.gguf").string()}));
  EXPECT_TRUE(s.from.empty());
  EXPECT_TRUE(mf.warnings.empty());
  EXPECT_NE(text.find("TEMPLATE \"\"\"<|im_start|>"), std::string::npos);
  EXPECT_NE(text.find("\nPARAMETER stop \"<end_of_utterance>\"\n"), std::string::npos);
  EXPECT_EQ(mf.parameters.value("stop", nlohmann::json()), nlohmann::json::array({"<end_of_utterance>"}));
  EXPECT_EQ(mf.parameters.value("temperature", -1.0), 0.0);
  EXPECT_EQ(mf.parameters.value("num_ctx", 0), 8192);
  ASSERT_TRUE(mf.template_text.has_value());
  EXPECT_EQ(*mf.template_text, shipped_template());

  // The TEMPLATE renders, through Ollama's prompt rules, what the native template renders.
  const GoTemplate t = parse_ollama_template(*mf.template_text);
  const std::vector<std::vector<ChatMessage>> convs = {
      {ChatMessage{"user", {ChatItem::image(), ChatItem::make_text("Can you describe this image?")}}},
      {ChatMessage::text("system", "Be brief."), ChatMessage::text("user", "Hi"), ChatMessage::text("assistant", " Hello!"),
       ChatMessage::text("user", "What is 2+2?")}};
  EXPECT_EQ(render_ollama_template(t, "", {TemplateMessage::with_images("user", "Can you describe this image?", 1)}),
            render_chat(convs[0], true));
  EXPECT_EQ(render_ollama_template(t, "", {TemplateMessage::text("system", "Be brief."), TemplateMessage::text("user", "Hi"),
                                          TemplateMessage::text("assistant", " Hello!"),
                                          TemplateMessage::text("user", "What is 2+2?")}),
            render_chat(convs[1], true));
  // No temporary folder is left next to DIR.
  for (const auto& e : fs::directory_iterator(tmp.path())) EXPECT_EQ(e.path().filename(), "out");
}

// A stored model's blobs are copied, not linked: editing an exported GGUF in place must never
// corrupt the store. --link hard-links on request. The lines printed name final paths only.
TEST(Export, CopiesByDefaultLinksOnlyWhenAskedAndPrintsFinalPaths) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  ModelStore store((tmp / "models").string());
  const ResolvedModel m = make_store_model(store, "tiny:1", {});
  ::setenv("OLLAMA_MODELS", store.root().c_str(), 1);
  const fs::path dir = tmp / "out";
  const auto r = run_smolvlm({"export", "tiny:1", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path exported = dir / "tiny512-Q8_0.gguf";
  EXPECT_FALSE(fs::equivalent(exported, m.text_path));
  EXPECT_EQ(fs::hard_link_count(m.text_path), 1u);
  const std::string before = sha_of(m.text_path);
  {
    std::fstream f(exported, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.write("edited", 6);
  }
  EXPECT_EQ(sha_of(m.text_path), before) << "editing the export changed the store's blob";
  EXPECT_NO_THROW(store.verify("tiny:1"));
  EXPECT_EQ(r.err.find(".export-"), std::string::npos) << r.err;  // no temporary path shown
  EXPECT_NE(r.err.find("to " + exported.string()), std::string::npos) << r.err;
  const std::string readme = text_of(dir / "README.txt");
  EXPECT_TRUE(!readme.empty() && readme.back() == '\n');
  EXPECT_EQ(text_of(dir / "Modelfile").back(), '\n');

  const auto linked = run_smolvlm({"export", "tiny:1", (tmp / "linked").string(), "--link"});
  ASSERT_EQ(linked.exit_code, 0) << linked.err;
  EXPECT_TRUE(fs::equivalent(tmp / "linked" / "tiny512-Q8_0.gguf", m.text_path));
  EXPECT_NE(linked.err.find("linked " + (tmp / "linked" / "tiny512-Q8_0.gguf").string()), std::string::npos) << linked.err;
  ::unsetenv("OLLAMA_MODELS");
}

TEST(Export, RecreatedFromTheFolderGivesOllamaLayersWithTheSourcesDigests) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  const fs::path dir = tmp / "out";
  ASSERT_EQ(run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), dir.string()}).exit_code, 0);
  const Manifest m = recreate(tmp / "store", dir, "smolvlm2:tiny");

  // §7.1 layout, §7.2 manifest, §7.3 media types, §7.4 config.
  const fs::path manifest = tmp / "store/manifests/registry.ollama.ai/library/smolvlm2/tiny";
  ASSERT_TRUE(fs::is_regular_file(manifest));
  const auto j = nlohmann::json::parse(text_of(manifest));
  EXPECT_EQ(j["schemaVersion"], 2);
  EXPECT_EQ(j["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(j["config"]["mediaType"], "application/vnd.docker.container.image.v1+json");
  EXPECT_EQ(layer(m, "application/vnd.ollama.image.model").digest, sha_of(src(kText)));
  EXPECT_EQ(layer(m, "application/vnd.ollama.image.projector").digest, sha_of(src(kMmproj)));
  EXPECT_EQ(layer(m, "application/vnd.ollama.image.template").digest, sha_of_text(shipped_template()));
  // The params layer: the Modelfile's PARAMETERs as a JSON object in Go's encoding ('<' and '>'
  // escaped, trailing newline).
  const ManifestLayer& params = layer(m, "application/vnd.ollama.image.params");
  const std::string pbytes = text_of(tmp / "store/blobs" / ("sha256-" + params.digest.substr(7)));
  EXPECT_EQ(sha_of_text(pbytes), params.digest);
  EXPECT_EQ(nlohmann::json::parse(pbytes),
            (nlohmann::json{{"num_ctx", 8192}, {"stop", {"<end_of_utterance>"}}, {"temperature", 0}}));
  EXPECT_NE(pbytes.find("\"stop\":[\"\\u003cend_of_utterance\\u003e\"]"), std::string::npos) << pbytes;
  EXPECT_EQ(pbytes.back(), '\n');
  for (const auto& l : m.layers) EXPECT_TRUE(fs::is_regular_file(tmp / "store/blobs" / ("sha256-" + l.digest.substr(7))));
  const auto cfg = nlohmann::json::parse(text_of(tmp / "store/blobs" / ("sha256-" + m.config.digest.substr(7))));
  EXPECT_EQ(cfg["model_format"], "gguf");
  EXPECT_EQ(cfg["model_family"], "llama");
  EXPECT_EQ(cfg["model_families"], nlohmann::json::array({"llama"}));
  EXPECT_EQ(cfg["file_type"], "Q8_0");
  EXPECT_FALSE(cfg.value("model_type", "").empty());
  EXPECT_EQ(cfg["architecture"], "amd64");
  EXPECT_EQ(cfg["os"], "linux");
}

TEST(Export, StoreModelKeepsItsLayersThroughTheFolder) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  ModelStore store((tmp / "models").string());
  CreateRequest settings;
  settings.template_text = "{{ range .Messages }}<{{ .Role }}> \"{{ .Content }}\"\n{{ end }}<assistant>";
  settings.system = " You answer \"briefly\".\nAlways.";
  settings.parameters = {{"temperature", 0.7}, {"top_k", 20}, {"stop", {"<end_of_utterance>", "User:"}}, {"num_ctx", 4096}};
  settings.messages = {{{"role", "user"}, {"content", "Hi\nthere"}}, {{"role", "assistant"}, {"content", "Hello \"you\""}}};
  settings.licenses = {"Apache 2.0", "Second license\nline two"};
  make_store_model(store, "mine:v1", settings);
  const Manifest source = store.read_manifest(ModelName::parse("mine:v1"));

  ScopedEnv env("OLLAMA_MODELS", (tmp / "models").string());
  const fs::path dir = tmp / "exported";
  const auto r = run_smolvlm({"export", "mine:v1", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sha_of(dir / "tiny512-Q8_0.gguf"), sha_of(src(kText)));
  EXPECT_EQ(sha_of(dir / "mmproj-tiny512-F32.gguf"), sha_of(src(kMmproj)));
  const Modelfile mf = parse_modelfile(text_of(dir / "Modelfile"));
  EXPECT_EQ(mf.template_text, settings.template_text);
  EXPECT_EQ(mf.system, settings.system);
  EXPECT_EQ(mf.parameters, settings.parameters);
  EXPECT_EQ(mf.messages, settings.messages);
  EXPECT_EQ(mf.licenses, settings.licenses);

  // Every layer (media type and digest) and the config come back the same in a fresh store.
  const Manifest again = recreate(tmp / "fresh", dir, "mine:v1");
  EXPECT_EQ(layer_ids(again), layer_ids(source));
  EXPECT_EQ(again.config.digest, source.config.digest);
  EXPECT_EQ(again.layers.size(), 2u + 5u + 1u);  // model, projector, template, system, params, messages, 2 licenses
}

TEST(Export, StoreModelWithoutTemplateGetsSmolVLM2sTemplateAndStop) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  ModelStore store((tmp / "models").string());
  CreateRequest settings;
  settings.parameters = {{"temperature", 0.2}};
  make_store_model(store, "bare", settings);
  const ExportSource s = export_source_from_store(store, "bare");
  EXPECT_EQ(s.model_name, "bare:latest");
  EXPECT_EQ(s.text_path, store.resolve("bare").text_path);
  EXPECT_EQ(s.template_text, shipped_template());
  EXPECT_EQ(s.parameters, (nlohmann::json{{"temperature", 0.2}, {"stop", {"<end_of_utterance>"}}}));
  EXPECT_THROW(export_source_from_store(store, "missing"), Error);
}

TEST(Export, ToStoreWritesTheManifestAndBlobs) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  const fs::path root = tmp / "ollama";
  auto r = run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), "--to-store", root.string(), "--name", "smol:test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path manifest = root / "manifests/registry.ollama.ai/library/smol/test";
  ASSERT_TRUE(fs::is_regular_file(manifest));
  const Manifest m = Manifest::parse(text_of(manifest), manifest.string());
  EXPECT_EQ(layer(m, "application/vnd.ollama.image.model").digest, sha_of(src(kText)));
  EXPECT_EQ(layer(m, "application/vnd.ollama.image.projector").digest, sha_of(src(kMmproj)));
  EXPECT_EQ(layer(m, "application/vnd.ollama.image.template").digest, sha_of_text(shipped_template()));
  for (const auto& l : m.layers) {
    const fs::path blob = root / "blobs" / ("sha256-" + l.digest.substr(7));
    ASSERT_TRUE(fs::is_regular_file(blob)) << blob;
    EXPECT_EQ(sha_of(blob), l.digest);
  }
  EXPECT_TRUE(fs::is_regular_file(root / "blobs" / ("sha256-" + m.config.digest.substr(7))));
  const ResolvedModel model = ModelStore(root.string()).resolve("smol:test");
  EXPECT_EQ(model.params.value("stop", nlohmann::json()), nlohmann::json::array({"<end_of_utterance>"}));

  // The name exists now: refused without --force (nothing changes), replaced with it.
  const std::string before = text_of(manifest);
  r = run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), "--to-store", root.string(), "--name", "smol:test"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(text_of(manifest), before);
  r = run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), "--to-store", root.string(), "--name", "smol:test", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // Without --name: the derived name; from a folder holding both GGUFs; $OLLAMA_MODELS by default.
  const fs::path folder = tmp / "ggufs";
  fs::create_directories(folder);
  fs::copy_file(src(kText), folder / "text-Q8_0.gguf");
  fs::copy_file(src(kMmproj), folder / "mmproj-F32.gguf");
  ScopedEnv env("OLLAMA_MODELS", root.string());
  r = run_smolvlm({"export", folder.string(), "--to-store"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(root / "manifests/registry.ollama.ai/library/tiny512/q8_0"));
}

TEST(Export, ExistingFolderIsRefusedUnlessForced) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  const fs::path dir = tmp / "out";
  fs::create_directories(dir);
  testing::write_file(dir / "keep.txt", "x", 1);
  auto r = run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "Modelfile"));

  r = run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), dir.string(), "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sha_of(dir / "mmproj-tiny512-F32.gguf"), sha_of(src(kMmproj)));
  EXPECT_TRUE(fs::exists(dir / "keep.txt"));

  // Forced again with another projector: our previous GGUF goes, the user's file stays.
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F16.gguf");
  r = run_smolvlm({"export", src(kText), "--mmproj", src("golden/tiny512/gguf/mmproj-F16.gguf"), dir.string(), "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir / "mmproj-tiny512-F32.gguf"));
  EXPECT_EQ(sha_of(dir / "mmproj-tiny512-F16.gguf"), sha_of(src("golden/tiny512/gguf/mmproj-F16.gguf")));
  EXPECT_EQ(parse_modelfile(text_of(dir / "Modelfile")).from,
            (std::vector<std::string>{"./tiny512-Q8_0.gguf", "./mmproj-tiny512-F16.gguf"}));
  EXPECT_TRUE(fs::exists(dir / "keep.txt"));
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_NE(e.path().filename().string().front(), '.') << e.path();

  // A file where DIR should be: refused even with --force.
  testing::write_file(tmp / "file", "x", 1);
  r = run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), (tmp / "file").string(), "--force"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a folder"), std::string::npos) << r.err;
}

TEST(Export, BadInputsAreClearErrorsAndLeaveNothing) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  ScopedEnv env("OLLAMA_MODELS", (tmp / "empty-store").string());
  const fs::path dir = tmp / "out";
  auto r = run_smolvlm({"export", "no-such-model:1", dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("model 'no-such-model:1' not found"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir));

  r = run_smolvlm({"export", src(kMmproj), "--mmproj", src(kText), dir.string()});  // swapped
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a text model GGUF"), std::string::npos) << r.err;
  r = run_smolvlm({"export", src(kText), "--mmproj", src(kText), dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a vision projector GGUF"), std::string::npos) << r.err;
  r = run_smolvlm({"export", src(kText)});  // neither DIR nor --to-store
  EXPECT_EQ(r.exit_code, 1);
  r = run_smolvlm({"export", src(kText), "--mmproj", src(kMmproj), "--to-store", (tmp / "s").string(), "--name", "../x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid model name"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir));
  for (const auto& e : fs::directory_iterator(tmp.path())) EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
}

TEST(Export, ModelfileValuesRoundTripOrFailNamingTheField) {
  SMOLVLM_REQUIRE_SHARED(kText);
  ExportSource s = export_source_from_files(src(kText), src(kMmproj));
  EXPECT_EQ(s.base_name, "tiny512");
  EXPECT_EQ(s.model_name, "tiny512:q8_0");
  const ExportNames names = export_file_names(s);
  EXPECT_EQ(names.text, "tiny512-Q8_0.gguf");
  EXPECT_EQ(names.mmproj, "mmproj-tiny512-F32.gguf");

  s.template_text = "say \"hi\" and \"\"\" inside \"x\"";  // only the bare form is left: one line
  s.system = "  spaces around  ";
  s.parameters["stop"] = {"<end_of_utterance>", "say \"x\"", "'single'", "multi\nline"};
  s.messages = {{{"role", "user"}, {"content", "\nleading newline"}}};
  const Modelfile mf = parse_modelfile(export_modelfile(s, names));
  EXPECT_EQ(mf.template_text, s.template_text);
  EXPECT_EQ(mf.system, s.system);
  EXPECT_EQ(mf.parameters, s.parameters);
  EXPECT_EQ(mf.messages, s.messages);

  s.template_text = "\"\"\"a\nb\"";  // no form of Ollama's grammar holds this
  try {
    export_modelfile(s, names);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("TEMPLATE"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smolvlm
