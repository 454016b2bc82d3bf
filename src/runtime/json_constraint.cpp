#include "runtime/json_constraint.h"

#include <algorithm>
#include <limits>

#include "base/error.h"
#include "runtime/json_schema_recognizer.h"
#include "tokenizer/tokenizer.h"

namespace smolvlm {
namespace {

constexpr std::string_view kLiterals[3] = {"true", "false", "null"};

int hex_digit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// May a top-level value of kind `top` start with byte c?
bool top_allows(JsonKind top, uint8_t c) {
  switch (top) {
    case JsonKind::kOff:
    case JsonKind::kAny: return true;
    case JsonKind::kObject: return c == '{';
    case JsonKind::kArray: return c == '[';
    case JsonKind::kString: return c == '"';
    case JsonKind::kNumber:
    case JsonKind::kInteger: return c == '-' || is_digit(c);
    case JsonKind::kBoolean: return c == 't' || c == 'f';
    case JsonKind::kNull: return c == 'n';
  }
  return false;
}

}  // namespace

JsonRecognizer::JsonRecognizer(JsonKind top, int max_ws)
    : top_(top), max_ws_(static_cast<uint8_t>(std::clamp(max_ws, 0, 255))) {}

void JsonRecognizer::advance(std::string_view bytes) {
  JsonRecognizer next = *this;
  if (!next.feed(bytes)) fail("JSON constraint: the bytes \"", bytes, "\" do not continue a valid JSON text");
  *this = next;
}

bool JsonRecognizer::complete() const {
  if (mode_ == kDone) return true;
  return depth_ == 0 && (mode_ == kNumZero || mode_ == kNumInt || mode_ == kNumFrac || mode_ == kNumExp);
}

JsonRecognizer::Step JsonRecognizer::step_embedded(uint8_t c) {
  if (depth_ == 0 && (mode_ == kNumZero || mode_ == kNumInt || mode_ == kNumFrac || mode_ == kNumExp)) {
    const bool more = (is_digit(c) && mode_ != kNumZero) ||
                      (c == '.' && (mode_ == kNumZero || mode_ == kNumInt) && !integer_only()) ||
                      ((c == 'e' || c == 'E') && mode_ != kNumExp && !integer_only());
    if (!more) return Step::kEnded;
  }
  return step(c) ? Step::kTaken : Step::kRejected;
}

bool JsonRecognizer::feed(std::string_view bytes) {
  for (const char ch : bytes)
    if (!step(static_cast<uint8_t>(ch))) return false;
  return true;
}

bool JsonRecognizer::push(bool object) {
  if (depth_ >= kMaxDepth) return false;
  const uint64_t bit = 1ull << (depth_ & 63);
  if (object) stack_[depth_ >> 6] |= bit;
  else stack_[depth_ >> 6] &= ~bit;
  ++depth_;
  return true;
}

bool JsonRecognizer::whitespace(uint8_t c) {
  if (!is_ws(c)) return false;
  return ++ws_run_ <= max_ws_;
}

bool JsonRecognizer::begin_value(uint8_t c) {
  if (mode_ == kStart && !top_allows(top_, c)) return false;
  switch (c) {
    case '{': mode_ = kObjFirst; return push(true);
    case '[': mode_ = kArrayFirst; return push(false);
    case '"': mode_ = kStr; key_ = false; chars_ = 0; return true;
    case '-': mode_ = kNumMinus; n_ = 0; return true;
    case '0': mode_ = kNumZero; n_ = 1; return true;
    case 't': lit_ = 0; break;
    case 'f': lit_ = 1; break;
    case 'n': lit_ = 2; break;
    default:
      if (c >= '1' && c <= '9') {
        mode_ = kNumInt;
        n_ = 1;
        return true;
      }
      return false;
  }
  mode_ = kLit;
  n_ = 1;
  return true;
}

bool JsonRecognizer::step(uint8_t c) {
  // Structural modes: whitespace counts towards the run limit, anything else resets it.
  if (mode_ <= kDone) {
    if (is_ws(c)) return whitespace(c);
    ws_run_ = 0;
  }
  switch (mode_) {
    case kStart:
    case kValue: return begin_value(c);
    case kArrayFirst:
      if (c == ']') {
        --depth_;
        end_value();
        return true;
      }
      return begin_value(c);
    case kObjFirst:
    case kObjKey:
      if (c == '"') {
        mode_ = kStr;
        key_ = true;
        chars_ = 0;
        return true;
      }
      if (c == '}' && mode_ == kObjFirst) {
        --depth_;
        end_value();
        return true;
      }
      return false;
    case kColon:
      if (c != ':') return false;
      mode_ = kValue;
      return true;
    case kAfter:
      if (c == ',') {
        mode_ = in_object() ? kObjKey : kValue;
        return true;
      }
      if (c == (in_object() ? '}' : ']')) {
        --depth_;
        end_value();
        return true;
      }
      return false;
    case kDone: return false;

    case kStr:
      if (c == '"') {
        if (key_) {
          key_ = false;
          mode_ = kColon;
        } else {
          end_value();
        }
        return true;
      }
      ++chars_;  // (a rejected byte leaves the state garbage anyway)
      if (c == '\\') {
        mode_ = kStrEsc;
        return true;
      }
      if (c < 0x20) return false;  // control characters must be escaped
      if (c < 0x80) return true;
      // A UTF-8 lead byte: how many continuation bytes follow and the range of the first one
      // (no overlong forms, no UTF-16 surrogates, nothing past U+10FFFF).
      lo_ = 0x80;
      hi_ = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) n_ = 1;
      else if (c == 0xE0) n_ = 2, lo_ = 0xA0;
      else if (c == 0xED) n_ = 2, hi_ = 0x9F;
      else if (c >= 0xE1 && c <= 0xEF) n_ = 2;
      else if (c == 0xF0) n_ = 3, lo_ = 0x90;
      else if (c >= 0xF1 && c <= 0xF3) n_ = 3;
      else if (c == 0xF4) n_ = 3, hi_ = 0x8F;
      else return false;
      mode_ = kStrUtf8;
      return true;
    case kStrUtf8:
      if (c < lo_ || c > hi_) return false;
      lo_ = 0x80;
      hi_ = 0xBF;
      if (--n_ == 0) mode_ = kStr;
      return true;
    case kStrEsc:
      if (c == 'u') {
        mode_ = kStrHex;
        n_ = 0;
        hex_ = 0;
        return true;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        mode_ = kStr;
        return true;
      }
      return false;
    case kStrHex: {
      const int d = hex_digit(c);
      if (d < 0) return false;
      // Surrogates: a high one (D800-DBFF) must be followed by \u and a low one (DC00-DFFF); a
      // low one may not stand alone. The first two digits decide.
      if (n_ == 0 && low_ && d != 0xD) return false;
      if (n_ == 1 && hex_ == 0xD && (d >= 0xC) != low_) return false;
      hex_ = static_cast<uint16_t>(hex_ * 16 + d);
      if (++n_ < 4) return true;
      if (!low_ && hex_ >= 0xD800 && hex_ <= 0xDBFF) {
        low_ = true;
        mode_ = kStrLowBackslash;
      } else {
        low_ = false;
        mode_ = kStr;
      }
      return true;
    }
    case kStrLowBackslash:
      if (c != '\\') return false;
      mode_ = kStrLowU;
      return true;
    case kStrLowU:
      if (c != 'u') return false;
      mode_ = kStrHex;
      n_ = 0;
      hex_ = 0;
      return true;

    case kNumMinus:
      if (c == '0') mode_ = kNumZero;
      else if (is_digit(c)) mode_ = kNumInt;
      else return false;
      n_ = 1;
      return true;
    case kNumDot:
      if (!is_digit(c)) return false;
      mode_ = kNumFrac;
      return true;
    case kNumE:
      n_ = 0;
      if (c == '+' || c == '-') mode_ = kNumESign;
      else if (is_digit(c)) mode_ = kNumExp, n_ = 1;
      else return false;
      return true;
    case kNumESign:
      if (!is_digit(c)) return false;
      mode_ = kNumExp;
      n_ = 1;
      return true;
    case kNumZero:
    case kNumInt:
    case kNumFrac:
    case kNumExp:
      if (is_digit(c)) {
        if (mode_ == kNumZero) return false;  // no leading zeros
        if (mode_ == kNumInt) return ++n_ <= JsonRecognizer::kMaxIntDigits;
        if (mode_ == kNumExp) return ++n_ <= JsonRecognizer::kMaxExpDigits;
        return true;
      }
      if (c == '.' && (mode_ == kNumZero || mode_ == kNumInt) && !integer_only()) {
        mode_ = kNumDot;
        return true;
      }
      if ((c == 'e' || c == 'E') && mode_ != kNumExp && !integer_only()) {
        mode_ = kNumE;
        return true;
      }
      end_value();  // the number ended: c belongs to what follows
      return step(c);

    case kLit:
      if (c != static_cast<uint8_t>(kLiterals[lit_][n_])) return false;
      if (++n_ == kLiterals[lit_].size()) end_value();
      return true;
  }
  return false;
}

JsonTokenMask::JsonTokenMask(std::vector<std::string> bytes, std::vector<bool> eog) {
  if (eog.size() != bytes.size()) fail("JsonTokenMask: ", bytes.size(), " token spellings but ", eog.size(), " eog flags");
  off_.reserve(bytes.size() + 1);
  kind_.reserve(bytes.size());
  off_.push_back(0);
  for (size_t i = 0; i < bytes.size(); ++i) {
    buf_ += bytes[i];
    off_.push_back(static_cast<uint32_t>(buf_.size()));
    kind_.push_back(eog[i] ? kEog : bytes[i].empty() ? kNever : kText);
  }
  // Text tokens sorted by their bytes, with the end of each one's first-byte and first-two-bytes group.
  for (size_t i = 0; i < kind_.size(); ++i) (kind_[i] == kText ? order_ : other_).push_back(static_cast<int32_t>(i));
  std::sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) { return this->bytes(a) < this->bytes(b); });
  end1_.resize(order_.size());
  end2_.resize(order_.size());
  for (size_t i = order_.size(); i-- > 0;) {
    const std::string_view b = this->bytes(order_[i]);
    const bool last = i + 1 == order_.size();
    const std::string_view next = last ? std::string_view() : this->bytes(order_[i + 1]);
    end1_[i] = !last && next[0] == b[0] ? end1_[i + 1] : static_cast<uint32_t>(i + 1);
    const bool same2 = !last && b.size() >= 2 && next.size() >= 2 && next.substr(0, 2) == b.substr(0, 2);
    end2_[i] = same2 ? end2_[i + 1] : static_cast<uint32_t>(i + 1);
  }
  JsonRecognizer in_string;
  in_string.advance("\"");
  plain_chars_.assign(kind_.size(), 0);
  for (size_t i = 0; i < kind_.size(); ++i) {
    if (kind_[i] != kText) continue;
    JsonRecognizer r = in_string;
    if (r.accepts(bytes[i])) {
      r.advance(bytes[i]);
      if (r.in_string()) {
        kind_[i] = kPlain;
        plain_chars_[i] = r.chars();
      }
    }
  }
}

namespace {
std::vector<std::string> vocab_bytes(const Tokenizer& tok) {
  std::vector<std::string> out(static_cast<size_t>(tok.n_vocab()));
  for (int32_t id = 0; id < tok.n_vocab(); ++id)
    if (!tok.is_special(id) && !tok.is_eog(id)) out[static_cast<size_t>(id)] = tok.token_bytes(id);
  return out;
}
std::vector<bool> vocab_eog(const Tokenizer& tok) {
  std::vector<bool> out(static_cast<size_t>(tok.n_vocab()));
  for (int32_t id = 0; id < tok.n_vocab(); ++id) out[static_cast<size_t>(id)] = tok.is_eog(id);
  return out;
}
}  // namespace

JsonTokenMask::JsonTokenMask(const Tokenizer& tok) : JsonTokenMask(vocab_bytes(tok), vocab_eog(tok)) {}

size_t JsonTokenMask::apply(const JsonRecognizer& rec, std::span<float> logits) const { return apply_impl(rec, logits); }
size_t JsonTokenMask::apply(const JsonSchemaRecognizer& rec, std::span<float> logits) const {
  return apply_impl(rec, logits);
}

template <class Recognizer>
size_t JsonTokenMask::apply_impl(const Recognizer& rec, std::span<float> logits) const {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  // Most tokens are decided by their first two bytes: test the first ones once per step, and the
  // second ones after an accepted first byte when a token first needs them (row filled lazily).
  bool first_ok[256];
  bool row_ready[256] = {};
  std::vector<uint8_t>& second_ok = scratch_;  // [256 * 256]: 1 accepted, 0 not
  second_ok.resize(256 * 256);
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    first_ok[c] = rec.accepts(std::string_view(&ch, 1));
  }
  auto two_ok = [&](uint8_t c0, uint8_t c1) {
    if (!row_ready[c0]) {
      Recognizer after = rec;
      after.advance(std::string_view(reinterpret_cast<const char*>(&c0), 1));
      for (int d = 0; d < 256; ++d) {
        const char dh = static_cast<char>(d);
        second_ok[c0 * 256u + static_cast<unsigned>(d)] = after.accepts(std::string_view(&dh, 1));
      }
      row_ready[c0] = true;
    }
    return second_ok[c0 * 256u + c1] != 0;
  };
  if (logits.size() < kind_.size())
    fail("JsonTokenMask: ", logits.size(), " logits for a vocabulary of ", kind_.size(), " tokens");
  const size_t n = kind_.size();  // (logits past the vocabulary: never)
  size_t allowed = 0;
  for (const int32_t id : other_) {  // specials: only end of generation, once a value is complete
    if (kind_[static_cast<size_t>(id)] == kEog && rec.complete()) ++allowed;
    else logits[static_cast<size_t>(id)] = kNegInf;
  }
  if (const int64_t room = rec.plain_room(); room >= 0) {
    // Inside a string most tokens are plain string content: allowed if the string has room for
    // their characters, rejected if not; the others are tested.
    for (const int32_t id : order_) {
      const std::string_view b = bytes(id);
      const auto u = static_cast<size_t>(id);
      const bool ok = kind_[u] == kPlain ? plain_chars_[u] <= room :
                      (first_ok[static_cast<uint8_t>(b[0])] && rec.accepts(b));
      if (ok) ++allowed;
      else logits[static_cast<size_t>(id)] = kNegInf;
    }
  } else {
    // Tokens sorted by bytes: a rejected first byte or first two bytes rejects their whole group.
    auto reject = [&](size_t from, size_t to) {
      for (size_t j = from; j < to; ++j) logits[static_cast<size_t>(order_[j])] = kNegInf;
    };
    for (size_t i = 0; i < order_.size();) {
      const int32_t id = order_[i];
      const std::string_view b = bytes(id);
      const auto c0 = static_cast<uint8_t>(b[0]);
      if (!first_ok[c0]) {
        reject(i, end1_[i]);
        i = end1_[i];
        continue;
      }
      if (b.size() >= 2 && !two_ok(c0, static_cast<uint8_t>(b[1]))) {
        reject(i, end2_[i]);
        i = end2_[i];
        continue;
      }
      if (b.size() <= 2 || rec.accepts(b)) ++allowed;
      else logits[static_cast<size_t>(id)] = kNegInf;
      ++i;
    }
  }
  for (size_t id = n; id < logits.size(); ++id) logits[id] = kNegInf;
  return allowed;
}

}  // namespace smolvlm
