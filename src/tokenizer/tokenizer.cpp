// Tokenizer: vocabulary checks and tables, encode (added tokens -> pre-tokenizer -> cached BPE per
// word) and decode (byte-level decoder, lossy UTF-8). The GGUF reader is in tokenizer_gguf.cpp.
#include "tokenizer/tokenizer.h"

#include <array>
#include <climits>
#include <unordered_map>

#include "base/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/utf8.h"
#include "tokenizer/word_cache.h"

namespace smolvlm {

using namespace tok;

namespace {

constexpr int32_t kTypeNormal = 1, kTypeControl = 3, kTypeUserDefined = 4;

bool split_digits_for(const std::string& pre) {
  if (pre == "smollm") return true;
  if (pre == "gpt2") return false;
  fail("tokenizer.ggml.pre '", pre, "' is not supported (known: smollm, gpt2)");
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const Utf8Step st = utf8_step(s, i);
    if (!st.ok) return false;
    i += st.len;
  }
  return true;
}

// Per-call buffers of encode().
struct EncodeScratch {
  PreTokenizer::Scratch pre;
  std::vector<Span> words;
  std::vector<int32_t> symbols;
  BpeScratch bpe;
};

}  // namespace

struct Tokenizer::Impl {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<std::string> bytes;     // what each token decodes to
  std::vector<uint8_t> special;       // control / user-defined
  std::vector<uint8_t> eog;
  std::unordered_map<std::string_view, int32_t> by_text;  // views into `tokens`
  std::array<int32_t, 256> byte_id{};  // the token of each single byte, -1 when none (dropped)
  MergeTable merges;
  AddedTokenMatcher added;
  PreTokenizer pre{true};
  int32_t bos = -1, eos = -1, pad = -1, unk = -1;
  mutable WordCache cache;  // thread-safe

  int32_t n() const { return static_cast<int32_t>(tokens.size()); }
  void check_id(int32_t id, const char* what) const {
    if (id < 0 || id >= n()) fail(what, ": token id ", id, " is out of range [0, ", n(), ")");
  }
  int32_t lookup(std::string_view text) const {
    const auto it = by_text.find(text);
    return it == by_text.end() ? -1 : it->second;
  }

  void build_merges(const std::vector<std::string>& merge_list);
  void encode_word(std::string_view word, std::vector<int32_t>& out, EncodeScratch& s) const;
  void encode_segment(std::string_view seg, std::vector<int32_t>& out, EncodeScratch& s) const;
};

void Tokenizer::Impl::build_merges(const std::vector<std::string>& merge_list) {
  if (merge_list.size() > static_cast<size_t>(INT32_MAX)) fail("tokenizer.ggml.merges: too many merges");
  merges = MergeTable(merge_list.size());
  std::string joined;
  for (size_t r = 0; r < merge_list.size(); ++r) {
    const std::string& mg = merge_list[r];
    const size_t sp = mg.find(' ', 1);
    if (sp == std::string::npos) {
      fail("tokenizer.ggml.merges[", r, "] '", mg, "': expected two tokens separated by a space");
    }
    const std::string_view left(mg.data(), sp), right(mg.data() + sp + 1, mg.size() - sp - 1);
    joined.assign(left).append(right);
    const int32_t l = lookup(left), rt = lookup(right), m = lookup(joined);
    const std::string_view missing = l < 0 ? left : rt < 0 ? right : m < 0 ? std::string_view(joined) : "";
    if (l < 0 || rt < 0 || m < 0) {
      fail("tokenizer.ggml.merges[", r, "] '", mg, "': '", missing, "' is not in tokenizer.ggml.tokens");
    }
    merges.insert(l, rt, {static_cast<int32_t>(r), m});
  }
}

Tokenizer::Tokenizer(VocabSpec spec) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.pre = PreTokenizer(split_digits_for(spec.pre));
  const size_t n = spec.tokens.size();
  if (n == 0) fail("tokenizer.ggml.tokens is empty");
  if (n > static_cast<size_t>(INT32_MAX)) fail("tokenizer.ggml.tokens: too many tokens (", n, ")");
  if (!spec.token_types.empty() && spec.token_types.size() != n) {
    fail("tokenizer.ggml.token_type has ", spec.token_types.size(), " entries but tokenizer.ggml.tokens has ", n);
  }
  m.tokens = std::move(spec.tokens);
  m.types = spec.token_types.empty() ? std::vector<int32_t>(n, kTypeNormal) : std::move(spec.token_types);

  m.by_text.reserve(n);
  for (size_t i = 0; i < n; ++i) m.by_text.emplace(m.tokens[i], static_cast<int32_t>(i));  // first id wins
  for (int b = 0; b < 256; ++b) {
    std::string s;
    append_utf8(s, byte_to_cp(static_cast<uint8_t>(b)));
    m.byte_id[b] = m.lookup(s);
  }
  m.build_merges(spec.merges);

  const std::pair<const char*, int32_t*> ids[] = {{"tokenizer.ggml.bos_token_id", &m.bos},
                                                   {"tokenizer.ggml.eos_token_id", &m.eos},
                                                   {"tokenizer.ggml.padding_token_id", &m.pad},
                                                   {"tokenizer.ggml.unknown_token_id", &m.unk}};
  const int32_t given[] = {spec.bos_id, spec.eos_id, spec.pad_id, spec.unk_id};
  for (size_t k = 0; k < 4; ++k) {
    if (given[k] < -1 || given[k] >= m.n()) {
      fail(ids[k].first, " ", given[k], " is out of range [0, ", n, ")");
    }
    *ids[k].second = given[k];
  }

  m.special.resize(n);
  m.bytes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& t = m.tokens[i];
    m.special[i] = m.types[i] == kTypeControl || m.types[i] == kTypeUserDefined;
    // Added tokens whose text is not valid UTF-8 could match inside a character: never matched.
    if (m.special[i] && valid_utf8(t)) m.added.add(t, static_cast<int32_t>(i));
    m.bytes[i] = byte_level_decode(t);
  }

  // End of generation (llama.cpp): eos plus these tokens by text.
  m.eog.resize(n);
  if (m.eos >= 0) m.eog[m.eos] = 1;
  for (const char* text : {"<end_of_utterance>", "<|im_end|>", "<|endoftext|>"}) {
    if (const int32_t id = m.lookup(text); id >= 0) m.eog[id] = 1;
  }
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

int32_t Tokenizer::n_vocab() const { return impl_->n(); }
int32_t Tokenizer::bos() const { return impl_->bos; }
int32_t Tokenizer::eos() const { return impl_->eos; }
bool Tokenizer::is_eog(int32_t id) const { return id >= 0 && id < impl_->n() && impl_->eog[id]; }
bool Tokenizer::is_special(int32_t id) const { return id >= 0 && id < impl_->n() && impl_->special[id]; }

void Tokenizer::Impl::encode_word(std::string_view word, std::vector<int32_t>& out, EncodeScratch& s) const {
  if (word.size() == 1) {
    if (const int32_t id = byte_id[static_cast<uint8_t>(word[0])]; id >= 0) out.push_back(id);
    return;
  }
  if (cache.get(word, out)) return;
  s.symbols.clear();
  for (const char c : word) {
    if (const int32_t id = byte_id[static_cast<uint8_t>(c)]; id >= 0) s.symbols.push_back(id);  // else dropped
  }
  const size_t before = out.size();
  bpe_merge(merges, s.symbols, out, s.bpe);
  cache.put(word, std::span<const int32_t>(out.data() + before, out.size() - before));
}

void Tokenizer::Impl::encode_segment(std::string_view seg, std::vector<int32_t>& out, EncodeScratch& s) const {
  if (seg.empty()) return;
  s.words.clear();
  pre.split(seg, s.words, s.pre);
  for (const Span& w : s.words) encode_word(seg.substr(w.begin, w.end - w.begin), out, s);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  utf8_validate(text, "encode");
  const Impl& m = *impl_;
  EncodeScratch s;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  size_t seg = 0;  // start of the text not yet encoded
  if (parse_special && !m.added.empty()) {
    for (size_t pos = m.added.next_candidate(text, 0); pos < text.size(); pos = m.added.next_candidate(text, pos)) {
      const AddedTokenMatcher::Match hit = m.added.longest_at(text, pos);
      if (hit.len == 0) {
        ++pos;
        continue;
      }
      m.encode_segment(text.substr(seg, pos - seg), out, s);
      out.push_back(hit.id);
      pos += hit.len;
      seg = pos;
    }
  }
  m.encode_segment(text.substr(seg), out, s);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::string bytes;
  for (const int32_t id : ids) {
    m.check_id(id, "decode");
    if (!(skip_special && m.special[id])) bytes += m.bytes[id];
  }
  std::string out;
  append_utf8_lossy(out, bytes);
  return out;
}

std::string Tokenizer::token_bytes(int32_t id, bool skip_special) const {
  impl_->check_id(id, "token_bytes");
  return skip_special && impl_->special[id] ? std::string() : impl_->bytes[id];
}

const std::string& Tokenizer::token_text(int32_t id) const {
  impl_->check_id(id, "token_text");
  return impl_->tokens[id];
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = impl_->lookup(text);
  return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
}

}  // namespace smolvlm
