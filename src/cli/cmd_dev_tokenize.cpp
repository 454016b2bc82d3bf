// `smolvlm dev tokenize MODEL.gguf [TEXT] [--file F] [--json] [--no-special]`
//     prints the token ids of TEXT (or of file F, read as bytes), one per line, or as one JSON array
//     with --json. Special tokens in the text are parsed unless --no-special; nothing is added.
// `smolvlm dev detokenize MODEL.gguf IDS... [--skip-special]`
//     prints the text of the ids ("1,2,3", "1 2 3" or several arguments), exactly, with no newline
//     added; --skip-special drops control / user-defined tokens.
// Only the GGUF's tokenizer.ggml.* metadata is read; the weights are not loaded.
#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file_util.h"
#include "cli/command.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

namespace smolvlm::cli {
namespace {

struct TokenizeArgs {
  std::string model, text, file;
  bool json = false, no_special = false;
};
TokenizeArgs tok_args;

struct DetokenizeArgs {
  std::string model;
  std::vector<std::string> ids;
  bool skip_special = false;
};
DetokenizeArgs detok_args;

int run_tokenize(const TokenizeArgs& a) {
  if (!a.file.empty() && !a.text.empty()) fail("give either TEXT or --file, not both");
  const std::string text = a.file.empty() ? a.text : read_file(a.file);
  const Tokenizer tok = Tokenizer::from_gguf(GgufFile::open(a.model));
  const std::vector<int32_t> ids = tok.encode(text, !a.no_special);
  if (a.json) {
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
    std::printf("%s]\n", out.c_str());
  } else {
    for (const int32_t id : ids) std::printf("%d\n", id);
  }
  return 0;
}

// "1,2,3" / "1 2 3" / several arguments -> ids.
std::vector<int32_t> parse_ids(const std::vector<std::string>& args) {
  std::vector<int32_t> ids;
  for (const std::string& arg : args) {
    size_t i = 0;
    while (i < arg.size()) {
      if (arg[i] == ',' || arg[i] == ' ' || arg[i] == '\t' || arg[i] == '\n') {
        ++i;
        continue;
      }
      size_t end = i;
      while (end < arg.size() && arg[end] != ',' && arg[end] != ' ' && arg[end] != '\t' && arg[end] != '\n') ++end;
      const std::string word = arg.substr(i, end - i);
      size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != word.size() || v < 0 || v > INT32_MAX) fail("IDS: '", word, "' is not a token id");
      ids.push_back(static_cast<int32_t>(v));
      i = end;
    }
  }
  return ids;
}

int run_detokenize(const DetokenizeArgs& a) {
  const std::vector<int32_t> ids = parse_ids(a.ids);
  const Tokenizer tok = Tokenizer::from_gguf(GgufFile::open(a.model));
  const std::string text = tok.decode(ids, a.skip_special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

const CommandRegistrar kTokenize{Command{
    "tokenize",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("tokenize", "Print the token ids of a text (GGUF tokenizer metadata only)");
      sub->footer(
          "Output: one id per line, or one JSON array with --json. Special tokens written in the text\n"
          "(<image>, <end_of_utterance>, ...) become their ids unless --no-special. Nothing is added (no BOS).");
      sub->add_option("model", tok_args.model, "GGUF file with tokenizer.ggml.* keys")
          ->required()
          ->check(CLI::ExistingFile);
      sub->add_option("text", tok_args.text, "Text to tokenize");
      sub->add_option("--file,-f", tok_args.file, "Read the text from this file (bytes, as is)")
          ->check(CLI::ExistingFile);
      sub->add_flag("--json", tok_args.json, "Print the ids as one JSON array");
      sub->add_flag("--no-special", tok_args.no_special, "Treat special-token text as ordinary text");
      return sub;
    },
    [] { return run_tokenize(tok_args); },
    110,
    "dev"}};

const CommandRegistrar kDetokenize{Command{
    "detokenize",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("detokenize", "Print the text of token ids (GGUF tokenizer metadata only)");
      sub->footer(
          "IDS: \"1,2,3\", \"1 2 3\" or several arguments. The text is printed exactly, with no newline added;\n"
          "invalid UTF-8 (a character cut between tokens) becomes U+FFFD.");
      sub->add_option("model", detok_args.model, "GGUF file with tokenizer.ggml.* keys")
          ->required()
          ->check(CLI::ExistingFile);
      sub->add_option("ids", detok_args.ids, "Token ids")->required();
      sub->add_flag("--skip-special", detok_args.skip_special, "Drop control / user-defined tokens");
      return sub;
    },
    [] { return run_detokenize(detok_args); },
    111,
    "dev"}};

}  // namespace
}  // namespace smolvlm::cli
