// The Ollama model store (reference/ollama-contract.md §7, §1.11-1.16, §1.19): create from a
// Modelfile with the golden tiny GGUFs as model + projector, the manifest and config JSON field by
// field, content-addressed blobs, resolve / list / show / copy / remove + prune, and the errors for
// a store damaged behind our back.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"
#include "io/gguf.h"
#include "store/create.h"
#include "store/gguf_info.h"
#include "store/model_store.h"
#include "store/modelfile.h"
#include "store/writer_lock.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const char* const kText = "golden/tiny512/gguf/text-Q8_0.gguf";
const char* const kProj = "golden/tiny512/gguf/mmproj-Q8_0.gguf";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}
std::string hex_of(const std::string& bytes) {
  return testing::sha256_hex(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}
std::string blob_path(const fs::path& root, const std::string& digest) {
  return (root / "blobs" / ("sha256-" + digest.substr(7))).string();
}
// Files in the store, but for the writer lock every store keeps (store/writer_lock.h).
size_t count_files(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it) {
    n += it->is_regular_file() && it->path().filename() != ".smolvlm-writers" ? 1 : 0;
  }
  return n;
}

// A store in a temp dir and a Modelfile next to copies of the golden GGUFs.
struct Fixture {
  TempDir tmp;
  fs::path root = tmp / "models";
  ModelStore store{root.string()};
  Fixture() {
    fs::create_directories(tmp / "src");
    fs::copy_file(testing::shared_path(kText), tmp / "src" / "model.gguf");
    fs::copy_file(testing::shared_path(kProj), tmp / "src" / "mmproj.gguf");
  }
  ResolvedModel create(const std::string& name, const std::string& modelfile_text) {
    spit(tmp / "src" / "Modelfile", modelfile_text);
    const Modelfile mf = parse_modelfile(modelfile_text);
    const CreateRequest req = create_request_from_modelfile(store, name, mf, (tmp / "src").string());
    return create_model(store, req);
  }
};

const char* const kModelfile =
    "FROM ./model.gguf\n"
    "FROM ./mmproj.gguf\n"
    "TEMPLATE \"\"\"{{ .Prompt }}<end_of_utterance>\"\"\"\n"
    "SYSTEM Be brief.\n"
    "PARAMETER stop <end_of_utterance>\n"
    "PARAMETER temperature 0.5\n"
    "PARAMETER num_ctx 2048\n"
    "MESSAGE user Hi & bye\n"
    "LICENSE Apache-2.0\n"
    "LICENSE \"\"\"second\nlicense\"\"\"\n";

TEST(Store, CreateWritesOllamasManifestAndConfig) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  const ResolvedModel r = f.create("smolvlm2:tiny", kModelfile);
  const fs::path mpath = f.root / "manifests/registry.ollama.ai/library/smolvlm2/tiny";
  ASSERT_TRUE(fs::is_regular_file(mpath));
  const std::string mbytes = slurp(mpath);
  EXPECT_EQ(r.digest, "sha256:" + hex_of(mbytes));  // the model digest is the manifest's sha256
  EXPECT_EQ(mbytes.back(), '\n');
  EXPECT_EQ(mbytes.find("\n"), mbytes.size() - 1);  // compact, one line
  EXPECT_EQ(mbytes.rfind("{\"schemaVersion\":2,\"mediaType\":", 0), 0u);

  const auto m = nlohmann::json::parse(mbytes);
  EXPECT_EQ(m["schemaVersion"], 2);
  EXPECT_EQ(m["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(m["config"]["mediaType"], "application/vnd.docker.container.image.v1+json");
  const auto& layers = m["layers"];
  std::vector<std::string> types;
  for (const auto& l : layers) {
    types.push_back(l["mediaType"]);
    // Every layer's digest is the sha256 of its blob's bytes, and its size the blob's size.
    const std::string bytes = slurp(blob_path(f.root, l["digest"]));
    EXPECT_EQ(l["digest"], "sha256:" + hex_of(bytes)) << l["mediaType"];
    EXPECT_EQ(l["size"].get<int64_t>(), static_cast<int64_t>(bytes.size()));
  }
  // Go struct order in every layer: mediaType, digest, size[, from].
  for (const auto& l : nlohmann::ordered_json::parse(mbytes)["layers"]) {
    auto it = l.begin();
    EXPECT_EQ((it++).key(), "mediaType");
    EXPECT_EQ((it++).key(), "digest");
    EXPECT_EQ((it++).key(), "size");
  }
  // Files are taken sorted by name, as Ollama does: mmproj.gguf before model.gguf.
  EXPECT_EQ(types, (std::vector<std::string>{
                       "application/vnd.ollama.image.projector", "application/vnd.ollama.image.model",
                       "application/vnd.ollama.image.template", "application/vnd.ollama.image.system",
                       "application/vnd.ollama.image.license", "application/vnd.ollama.image.license",
                       "application/vnd.ollama.image.params", "application/vnd.ollama.image.messages"}));
  // The model and projector layers are the GGUFs byte for byte.
  EXPECT_EQ(layers[1]["digest"], "sha256:" + hex_of(slurp(testing::shared_path(kText))));
  EXPECT_EQ(layers[0]["digest"], "sha256:" + hex_of(slurp(testing::shared_path(kProj))));
  EXPECT_EQ(layers[1]["from"], "model.gguf");
  EXPECT_EQ(layers[0]["from"], "mmproj.gguf");
  EXPECT_EQ(slurp(blob_path(f.root, layers[2]["digest"])), "{{ .Prompt }}<end_of_utterance>");
  EXPECT_EQ(slurp(blob_path(f.root, layers[3]["digest"])), "Be brief.");
  EXPECT_EQ(slurp(blob_path(f.root, layers[4]["digest"])), "Apache-2.0");
  EXPECT_EQ(slurp(blob_path(f.root, layers[5]["digest"])), "second\nlicense");
  // params: Go's encoder (sorted keys, HTML-escaped, newline); messages: role then content.
  EXPECT_EQ(slurp(blob_path(f.root, layers[6]["digest"])),
            "{\"num_ctx\":2048,\"stop\":[\"\\u003cend_of_utterance\\u003e\"],\"temperature\":0.5}\n");
  EXPECT_EQ(slurp(blob_path(f.root, layers[7]["digest"])), "[{\"role\":\"user\",\"content\":\"Hi \\u0026 bye\"}]\n");

  // Config blob (§7.4), field by field and in Go's order.
  const std::string cbytes = slurp(blob_path(f.root, m["config"]["digest"]));
  EXPECT_EQ(m["config"]["digest"], "sha256:" + hex_of(cbytes));
  EXPECT_EQ(m["config"]["size"].get<size_t>(), cbytes.size());
  const GgufFile g = GgufFile::open(testing::shared_path(kText).string());
  const std::string type = human_number(gguf_parameter_count(g));
  EXPECT_EQ(cbytes, "{\"model_format\":\"gguf\",\"model_family\":\"llama\",\"model_families\":[\"llama\"],\"model_type\":\"" +
                        type + "\",\"file_type\":\"Q8_0\",\"architecture\":\"amd64\",\"os\":\"linux\"}\n");

  // What the runtime gets.
  EXPECT_EQ(r.short_name, "smolvlm2:tiny");
  EXPECT_EQ(r.text_path, blob_path(f.root, layers[1]["digest"]));
  EXPECT_EQ(r.mmproj_path, blob_path(f.root, layers[0]["digest"]));
  EXPECT_EQ(r.template_text, "{{ .Prompt }}<end_of_utterance>");
  EXPECT_EQ(r.system, "Be brief.");
  EXPECT_EQ(r.params["stop"][0], "<end_of_utterance>");
  EXPECT_EQ(r.params["num_ctx"], 2048);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0]["content"], "Hi & bye");
  EXPECT_EQ(r.license, "Apache-2.0\nsecond\nlicense");
  EXPECT_EQ(r.size, m["config"]["size"].get<int64_t>() + [&] {
    int64_t n = 0;
    for (const auto& l : layers) n += l["size"].get<int64_t>();
    return n;
  }());
  // No temporary files anywhere.
  for (const auto& e : fs::recursive_directory_iterator(f.root)) {
    EXPECT_EQ(e.path().filename().string().find("tmp"), std::string::npos) << e.path();
  }
}

TEST(Store, HumanNumberAndFileType) {
  EXPECT_EQ(human_number(8000000000ull), "8B");
  EXPECT_EQ(human_number(3210000000ull), "3.2B");
  EXPECT_EQ(human_number(256000000ull), "256M");
  EXPECT_EQ(human_number(134515008ull), "134.52M");
  EXPECT_EQ(human_number(12345ull), "12K");
  EXPECT_EQ(human_number(999ull), "999");
  SMOLVLM_REQUIRE_SHARED(kText);
  for (const auto& [file, name] : std::vector<std::pair<std::string, std::string>>{
           {"text-Q4_K_M.gguf", "Q4_K_M"}, {"text-Q5_K_M.gguf", "Q5_K_M"}, {"text-F16.gguf", "F16"}, {"text-Q4_0.gguf", "Q4_0"}}) {
    EXPECT_EQ(gguf_file_type_name(GgufFile::open(testing::shared_path("golden/tiny512/gguf/" + file).string())), name);
  }
  EXPECT_EQ(gguf_role(GgufFile::open(testing::shared_path(kText).string())), GgufRole::Model);
  EXPECT_EQ(gguf_role(GgufFile::open(testing::shared_path(kProj).string())), GgufRole::Projector);
}

TEST(Store, BlobsAreContentAddressedAndDeduplicated) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  f.create("a:1", "FROM ./model.gguf\nSYSTEM same\n");
  const size_t blobs_after_first = count_files(f.root / "blobs");
  f.create("b:1", "FROM ./model.gguf\nSYSTEM same\n");
  EXPECT_EQ(count_files(f.root / "blobs"), blobs_after_first);  // same GGUF, system and config
  const std::string d = "sha256:" + hex_of("hello");
  BlobInfo b = f.store.put_blob(d, [s = std::string("hello"), done = false](char* buf, size_t n) mutable {
    if (done) return size_t{0};
    done = true;
    std::memcpy(buf, s.data(), s.size());
    return s.size();
  });
  EXPECT_TRUE(b.created);
  EXPECT_TRUE(f.store.blob_exists(d));
  EXPECT_TRUE(f.store.blob_exists("sha256-" + d.substr(7)));
  EXPECT_EQ(slurp(blob_path(f.root, d)), "hello");
  // Already there: 200 without reading the body.
  b = f.store.put_blob(d, [](char*, size_t) -> size_t { throw Error("body read"); });
  EXPECT_FALSE(b.created);
  // A body that does not hash to the digest: Ollama's message, nothing left behind.
  const size_t before = count_files(f.root / "blobs");
  const std::string other = "sha256:" + std::string(64, 'a');
  try {
    f.store.put_blob(other, [done = false](char* buf, size_t) mutable {
      if (done) return size_t{0};
      done = true;
      buf[0] = 'x';
      return size_t{1};
    });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("digest mismatch, expected \"" + other + "\", got \"sha256:"), std::string::npos);
  }
  EXPECT_EQ(count_files(f.root / "blobs"), before);
  EXPECT_THROW(f.store.blob_exists("sha256:xyz"), Error);
  EXPECT_THROW(f.store.blob_exists("md5:" + std::string(64, 'a')), Error);
  EXPECT_THROW(f.store.blob_exists("sha256:../../" + std::string(58, 'a')), Error);
}

TEST(Store, ResolveListCopyRemoveAndPrune) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  f.create("smolvlm2:tiny", kModelfile);
  f.create("other/thing:v1", "FROM ./model.gguf\nSYSTEM different\n");
  // Case-insensitive lookup, Ollama's not-found message, invalid names.
  EXPECT_EQ(f.store.resolve("SmolVLM2:TINY").short_name, "smolvlm2:tiny");
  EXPECT_EQ(f.store.resolve("registry.ollama.ai/library/smolvlm2:tiny").system, "Be brief.");
  try {
    f.store.resolve("nope");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "model 'nope' not found");
  }
  EXPECT_THROW(f.store.resolve("../../etc/passwd"), Error);

  auto list = f.store.list();
  ASSERT_EQ(list.size(), 2u);
  for (const auto& m : list) {
    EXPECT_EQ(m.digest, hex_of(slurp(f.root / "manifests" / ModelName::parse(m.short_name).relative_path())));
    EXPECT_EQ(m.details["format"], "gguf");
    EXPECT_EQ(m.details["family"], "llama");
    EXPECT_EQ(m.details["quantization_level"], "Q8_0");
    EXPECT_EQ(m.details["parent_model"], "model.gguf");
    EXPECT_EQ(m.modified_at.back(), 'Z');
  }

  // Copy duplicates the manifest only (same bytes, same digest).
  f.store.copy("smolvlm2:tiny", "copy:latest");
  EXPECT_EQ(slurp(f.root / "manifests/registry.ollama.ai/library/copy/latest"),
            slurp(f.root / "manifests/registry.ollama.ai/library/smolvlm2/tiny"));
  EXPECT_EQ(f.store.resolve("copy").digest, f.store.resolve("smolvlm2:tiny").digest);
  EXPECT_THROW(f.store.copy("missing", "x"), Error);
  EXPECT_THROW(f.store.copy("smolvlm2:tiny", "../x"), Error);

  // Removing one of two names that share blobs removes nothing else.
  const size_t blobs = count_files(f.root / "blobs");
  f.store.remove("smolvlm2:tiny");
  EXPECT_EQ(count_files(f.root / "blobs"), blobs);
  EXPECT_THROW(f.store.resolve("smolvlm2:tiny"), Error);
  EXPECT_FALSE(fs::exists(f.root / "manifests/registry.ollama.ai/library/smolvlm2"));  // empty dirs pruned
  // Removing the last user of the projector/template/... prunes them; the shared GGUF stays.
  const ResolvedModel copy = f.store.resolve("copy");
  const std::string mmproj = copy.mmproj_path;
  f.store.remove("copy");
  EXPECT_FALSE(fs::exists(mmproj));
  EXPECT_TRUE(fs::exists(f.store.resolve("other/thing:v1").text_path));
  f.store.remove("other/thing:v1");
  EXPECT_EQ(count_files(f.root / "blobs"), 0u);
  EXPECT_TRUE(f.store.list().empty());
  EXPECT_THROW(f.store.remove("other/thing:v1"), Error);
}

TEST(Store, CreateFromExistingModelCopiesItsLayers) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  const ResolvedModel base = f.create("base:1", kModelfile);
  CreateRequest req;
  req.model = "derived:1";
  req.from = "base:1";
  req.system = "New system.";
  req.parameters = {{"temperature", 0.25}};
  const ResolvedModel d = create_model(f.store, req);
  EXPECT_EQ(d.text_path, base.text_path);
  EXPECT_EQ(d.mmproj_path, base.mmproj_path);
  EXPECT_EQ(d.template_text, base.template_text);
  EXPECT_EQ(d.system, "New system.");
  EXPECT_EQ(d.params["temperature"], 0.25);  // request over inherited
  EXPECT_EQ(d.params["num_ctx"], 2048);       // inherited
  EXPECT_EQ(d.license, base.license);
  const auto m = nlohmann::json::parse(slurp(f.root / "manifests/registry.ollama.ai/library/derived/1"));
  for (const auto& l : m["layers"]) {
    if (l["mediaType"] != "application/vnd.ollama.image.system" && l["mediaType"] != "application/vnd.ollama.image.params") {
      EXPECT_EQ(l["from"], "base:1") << l["mediaType"];  // inherited layers name their source
    }
  }
  // Same thing through a Modelfile "FROM base:1".
  EXPECT_EQ(f.create("derived:2", "FROM base:1\nPARAMETER top_k 5\n").params["top_k"], 5);
  EXPECT_THROW(f.create("derived:3", "FROM not-there:1\n"), Error);
}

TEST(Store, ShowReportsGgufMetadata) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  f.create("smolvlm2:tiny", kModelfile);
  const ShowInfo s = f.store.show("smolvlm2:tiny");
  const GgufFile g = GgufFile::open(testing::shared_path(kText).string());
  EXPECT_EQ(s.model_info["general.architecture"], "llama");
  EXPECT_EQ(s.model_info["general.parameter_count"].get<uint64_t>(), gguf_parameter_count(g));
  EXPECT_EQ(s.model_info["llama.context_length"], g.get("llama.context_length").as_u32());
  EXPECT_EQ(s.model_info["llama.embedding_length"], g.get("llama.embedding_length").as_u32());
  EXPECT_EQ(s.model_info["general.file_type"], 7);
  EXPECT_FALSE(s.model_info.contains("general.name"));
  EXPECT_FALSE(s.model_info.contains("tokenizer.chat_template"));
  EXPECT_EQ(s.model_info["tokenizer.ggml.tokens"], nlohmann::json::array());  // > 5 elements, not verbose
  EXPECT_EQ(f.store.show("smolvlm2:tiny", true).model_info["tokenizer.ggml.tokens"].size(), 600u);
  EXPECT_EQ(s.projector_info["general.architecture"], "clip");
  EXPECT_EQ(s.projector_info["clip.vision.image_mean"].size(), 3u);  // short arrays stay
  EXPECT_EQ(s.capabilities, (std::vector<std::string>{"completion", "vision"}));
  EXPECT_EQ(s.details["family"], "llama");
  EXPECT_EQ(s.details["quantization_level"], "Q8_0");
  EXPECT_NE(s.parameters.find("stop                           \"<end_of_utterance>\""), std::string::npos) << s.parameters;
  EXPECT_NE(s.parameters.find("num_ctx                        2048"), std::string::npos);
  EXPECT_EQ(s.modelfile.rfind("# Modelfile generated by \"ollama show\"\n", 0), 0u);
  // The generated Modelfile parses back to the same settings.
  const Modelfile back = parse_modelfile(s.modelfile);
  EXPECT_EQ(back.from.size(), 2u);
  EXPECT_EQ(*back.template_text, "{{ .Prompt }}<end_of_utterance>");
  EXPECT_EQ(*back.system, "Be brief.");
  EXPECT_EQ(back.parameters, s.model.params);
  EXPECT_EQ(back.licenses, s.licenses);
  EXPECT_EQ(back.messages, s.model.messages);
}

TEST(Store, DamagedStoreGivesClearErrors) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  const ResolvedModel r = f.create("smolvlm2:tiny", kModelfile);
  // A blob removed behind our back (another server pruned it).
  fs::remove(r.mmproj_path);
  try {
    f.store.resolve("smolvlm2:tiny");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is missing from"), std::string::npos) << e.what();
  }
  fs::copy_file(testing::shared_path(kProj), r.mmproj_path);
  EXPECT_NO_THROW(f.store.resolve("smolvlm2:tiny"));
  // A text layer whose bytes do not match its digest.
  const fs::path mpath = f.root / "manifests/registry.ollama.ai/library/smolvlm2/tiny";
  auto m = nlohmann::json::parse(slurp(mpath));
  const std::string sys_blob = blob_path(f.root, m["layers"][3]["digest"]);
  spit(sys_blob, "Be BRIEF.");
  try {
    f.store.resolve("smolvlm2:tiny");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match its digest"), std::string::npos) << e.what();
  }
  spit(sys_blob, "Be brief.");
  // A manifest whose model layer digest names other bytes (wrong size), and verify() re-hashing.
  const std::string good = slurp(mpath);
  m["layers"][1]["size"] = m["layers"][1]["size"].get<int64_t>() + 1;
  spit(mpath, m.dump());
  try {
    f.store.resolve("smolvlm2:tiny");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("but the manifest says"), std::string::npos) << e.what();
  }
  spit(mpath, good);
  EXPECT_NO_THROW(f.store.verify("smolvlm2:tiny"));
  {
    std::fstream io(r.text_path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(100000);
    io.put('\x5a');
  }
  EXPECT_THROW(f.store.verify("smolvlm2:tiny"), Error);
  // A manifest that is not JSON / lacks fields.
  spit(mpath, "{not json");
  EXPECT_THROW(f.store.resolve("smolvlm2:tiny"), Error);
  spit(mpath, R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:zz","size":1},"layers":[]})");
  try {
    f.store.resolve("smolvlm2:tiny");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid digest"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(f.store.list().empty());  // unreadable manifests are skipped
}

TEST(Store, FailedCreateLeavesNothingBehind) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  // Not a GGUF: rejected before anything enters the store.
  spit(f.tmp / "src" / "junk.gguf", "definitely not a gguf");
  EXPECT_THROW(f.create("bad:1", "FROM ./model.gguf\nFROM ./junk.gguf\n"), Error);
  EXPECT_EQ(count_files(f.root), 0u);
  // Only a projector: the GGUF was copied, then the create failed -> the blob is removed again.
  EXPECT_THROW(f.create("bad:2", "FROM ./mmproj.gguf\nSYSTEM x\n"), Error);
  EXPECT_EQ(count_files(f.root), 0u);
  // An invalid target name.
  EXPECT_THROW(f.create("../../evil", "FROM ./model.gguf\n"), Error);
  EXPECT_EQ(count_files(f.root), 0u);
  // A bad file name or unknown blob in a server-style request.
  CreateRequest req;
  req.model = "x:1";
  req.files = {{"../model.gguf", "sha256:" + std::string(64, 'a')}};
  EXPECT_THROW(create_model(f.store, req), Error);
  req.files = {{"model.gguf", "sha256:" + std::string(64, 'a')}};
  EXPECT_THROW(create_model(f.store, req), Error);
  req.files.clear();
  EXPECT_THROW(create_model(f.store, req), Error);  // neither from nor files
  EXPECT_EQ(count_files(f.root), 0u);
  // Re-creating a name removes the blobs only the old version used.
  const ResolvedModel v1 = f.create("m:1", "FROM ./model.gguf\nSYSTEM old\n");
  const auto sys_old = nlohmann::json::parse(slurp(f.root / "manifests/registry.ollama.ai/library/m/1"))["layers"][1]["digest"];
  f.create("m:1", "FROM ./model.gguf\nSYSTEM new\n");
  EXPECT_FALSE(fs::exists(blob_path(f.root, sys_old)));
  EXPECT_TRUE(fs::exists(v1.text_path));
  EXPECT_EQ(f.store.resolve("m:1").system, "new");
}

TEST(Store, LegacyBlobReferenceAndStalePrune) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  // Legacy form: upload, then "FROM @sha256:<hex>".
  const BlobInfo b = f.store.blobs().put_file(testing::shared_path(kText).string());
  const Modelfile mf = parse_modelfile("FROM @" + b.digest + "\nSYSTEM legacy\n");
  const ResolvedModel r = create_model(f.store, create_request_from_modelfile(f.store, "legacy:1", mf, "/"));
  EXPECT_EQ(r.text_path, f.store.blobs().path(b.digest));
  EXPECT_THROW(create_request_from_modelfile(f.store, "x:1", parse_modelfile("FROM @sha256:" + std::string(64, 'b') + "\n"), "/"),
               Error);
  // Stale prune: an unreferenced blob goes once old enough (a young one may be about to get its
  // manifest); our temporaries go at once when no writer is alive; referenced blobs stay.
  const BlobInfo orphan = f.store.blobs().put_bytes("orphan");
  const fs::path tmp = f.root / "blobs" / "sha256-tmp-123-abc";
  const fs::path scratch = f.root / "blobs" / ".quantize-123-0.gguf";
  const fs::path partial = f.root / "blobs" / "sha256-pull-0123456789abcdef-partial";
  spit(tmp, "partial");
  spit(scratch, "scratch");
  spit(partial, "resumable");
  {
    const StoreWriterLock writer = f.store.blobs().writing();  // a live writer: temporaries stay
    const BlobStore::Pruned p = f.store.prune_stale(3600);
    EXPECT_EQ(p.files, 0u);
    EXPECT_TRUE(p.writers_live);
  }
  BlobStore::Pruned p = f.store.prune_stale(3600);
  EXPECT_EQ(p.files, 2u);
  EXPECT_EQ(p.bytes, 14);
  EXPECT_FALSE(p.writers_live);
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_FALSE(fs::exists(scratch));
  EXPECT_TRUE(fs::exists(partial));  // a young download resumes
  EXPECT_TRUE(f.store.blob_exists(orphan.digest));
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(f.store.blobs().path(orphan.digest), old);
  fs::last_write_time(partial, old);
  fs::last_write_time(r.text_path, old);
  EXPECT_EQ(f.store.prune_stale(3600).files, 2u);
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(f.store.blob_exists(orphan.digest));
  EXPECT_NO_THROW(f.store.resolve("legacy:1"));
}

// The writer lock is the kernel's: another process writing spares its temporaries, and once that
// process is killed (-9: no clean-up of its own) the next prune removes them.
TEST(Store, PruneSparesALiveWriterAndCleansUpAfterAKilledOne) {
  Fixture f;
  fs::create_directories(f.root / "blobs");
  const fs::path tmp = f.root / "blobs" / "sha256-tmp-999-feed";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const StoreWriterLock writer(f.root.string(), StoreWriterLock::Mode::kShared);
    std::ofstream(tmp) << "being written";
    (void)::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  BlobStore::Pruned p = f.store.prune_stale(3600);
  EXPECT_TRUE(p.writers_live);
  EXPECT_TRUE(fs::exists(tmp));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  p = f.store.prune_stale(3600);
  EXPECT_FALSE(p.writers_live);
  EXPECT_EQ(p.files, 1u);
  EXPECT_FALSE(fs::exists(tmp));
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(Store, TryResolveLeavesPathsAlone) {
  SMOLVLM_REQUIRE_SHARED(kText);
  Fixture f;
  f.create("smolvlm2:tiny", "FROM ./model.gguf\n");
  ::setenv("OLLAMA_MODELS", f.root.c_str(), 1);
  EXPECT_EQ(ModelStore::default_root(), f.root.string());
  EXPECT_FALSE(try_resolve(testing::shared_path(kText).string()).has_value());
  EXPECT_FALSE(try_resolve((f.tmp / "src").string()).has_value());
  const auto r = try_resolve("smolvlm2:tiny");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->short_name, "smolvlm2:tiny");
  EXPECT_THROW(try_resolve("smolvlm2:missing"), Error);
  ::unsetenv("OLLAMA_MODELS");
}

}  // namespace
}  // namespace smolvlm

namespace smolvlm {
namespace {

// Blobs must hash like Ollama's: Go's encoding/json writes whole floats without a fraction and
// escapes <, >, & in strings.
TEST(StoreGoJson, NumbersAndEscapesAsGoWritesThem) {
  nlohmann::ordered_json j;
  j["temperature"] = 0.0;
  j["top_p"] = 0.9;
  j["num_ctx"] = 4096.0;
  j["list"] = {1.5, 2.0, -3.0};
  j["tiny"] = 1e-7;
  j["stop"] = {"<end_of_utterance>"};
  EXPECT_EQ(go_json(j),
            "{\"temperature\":0,\"top_p\":0.9,\"num_ctx\":4096,\"list\":[1.5,2,-3],\"tiny\":1e-07,"
            "\"stop\":[\"\\u003cend_of_utterance\\u003e\"]}\n");
}

}  // namespace
}  // namespace smolvlm
