// Constrained decoding for `format: "json"`: an incremental JSON recognizer over bytes (a pushdown
// automaton for RFC 8259 text: objects, arrays, strings with escapes and \uXXXX surrogate pairs,
// UTF-8 checked inside strings, numbers, true / false / null, whitespace) and a per-token mask that
// sets to -inf the logits of tokens whose bytes would take the recognizer out of JSON.
//
//   JsonRecognizer rec(JsonKind::kObject);
//   JsonTokenMask mask(tokenizer);
//   mask.apply(rec, logits);            // before each sample
//   rec.advance(mask.bytes(id));        // after it
//   if (rec.done()) stop;               // a closed top-level value
//
// Limits: nesting deeper than kMaxDepth and runs of more than max_ws whitespace bytes outside
// strings are rejected (so a model cannot loop on spaces); numbers have at most kMaxIntDigits
// integer digits and kMaxExpDigits exponent digits (so every number is a finite double); after a
// closed top-level value only whitespace is accepted.
//
// A JSON Schema is followed by JsonSchemaRecognizer (json_schema_recognizer.h), which runs one of
// these per leaf value; JsonTokenMask::apply takes either.
#pragma once

#include <climits>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smolvlm {

class Tokenizer;
class JsonSchemaRecognizer;

// What the output must be: off, any JSON value, or a value of one JSON Schema top-level type
// (kInteger: a number without fraction or exponent).
enum class JsonKind : uint8_t { kOff, kAny, kObject, kArray, kString, kNumber, kInteger, kBoolean, kNull };

class JsonRecognizer {
 public:
  static constexpr int kMaxDepth = 128;
  static constexpr int kDefaultMaxWs = 16;
  static constexpr int kMaxIntDigits = 64;
  static constexpr int kMaxExpDigits = 2;

  explicit JsonRecognizer(JsonKind top = JsonKind::kAny, int max_ws = kDefaultMaxWs);

  // Would the text still be a valid JSON prefix after these bytes?
  bool accepts(std::string_view bytes) const {
    JsonRecognizer copy = *this;
    return copy.feed(bytes);
  }
  // Consumes bytes; throws Error (state unchanged) if they are rejected.
  void advance(std::string_view bytes);
  // A full top-level value has been read (a top-level number may still grow).
  bool complete() const;
  // A top-level value is closed: nothing but whitespace may follow.
  bool done() const { return mode_ == kDone; }
  // Inside a string's content (not in an escape or a UTF-8 sequence) / anywhere inside a string.
  bool in_string_body() const { return mode_ == kStr; }
  bool in_string() const { return mode_ >= kStr && mode_ <= kStrLowU; }
  // JsonTokenMask's fast path: how many more characters plain string content may add here (-1:
  // not inside a string's content); plain text of more characters is rejected.
  int64_t plain_room() const { return in_string_body() ? INT64_MAX : -1; }

  // For a recognizer embedded in a schema-driven one (one per leaf value): consumes c, or reports
  // that a top-level number ended just before c (c not consumed; the caller passes it on).
  enum class Step : uint8_t { kTaken, kRejected, kEnded };
  Step step_embedded(uint8_t c);
  // Characters of the string being read so far: a UTF-8 sequence or an escape (a \uXXXX
  // surrogate pair: one) counts one.
  uint32_t chars() const { return chars_; }

 private:
  enum Mode : uint8_t {
    kStart, kValue, kArrayFirst, kObjFirst, kObjKey, kColon, kAfter, kDone,          // structure
    kStr, kStrEsc, kStrHex, kStrUtf8, kStrLowBackslash, kStrLowU,                     // strings
    kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac, kNumE, kNumESign, kNumExp,       // numbers
    kLit,                                                                             // true/false/null
  };
  bool feed(std::string_view bytes);  // false on the first rejected byte (the state is then garbage)
  bool step(uint8_t c);
  bool begin_value(uint8_t c);
  bool whitespace(uint8_t c);
  void end_value() { mode_ = depth_ == 0 ? kDone : kAfter; }
  bool in_object() const { return (stack_[(depth_ - 1) >> 6] >> ((depth_ - 1) & 63)) & 1; }
  bool push(bool object);
  bool integer_only() const { return top_ == JsonKind::kInteger && depth_ == 0; }

  uint64_t stack_[kMaxDepth / 64] = {};  // bit per open container: 1 object, 0 array
  uint16_t depth_ = 0;
  uint32_t chars_ = 0;     // characters of the current string
  uint16_t hex_ = 0;       // \uXXXX value so far
  Mode mode_ = kStart;
  JsonKind top_;
  uint8_t max_ws_;
  uint8_t ws_run_ = 0;     // consecutive whitespace bytes outside strings
  uint8_t n_ = 0;          // hex digits read / UTF-8 bytes left / literal bytes read / number digits
  uint8_t lit_ = 0;        // 0 true, 1 false, 2 null
  uint8_t lo_ = 0, hi_ = 0;  // allowed range of the next UTF-8 continuation byte
  bool key_ = false;       // the string being read is an object key
  bool low_ = false;       // the \uXXXX being read must be a low surrogate
};

class JsonTokenMask {
 public:
  // bytes[id]: what token id spells (empty: never allowed); eog[id]: ends generation (allowed only
  // once a value is complete).
  JsonTokenMask(std::vector<std::string> bytes, std::vector<bool> eog);
  // From a vocabulary: special (control / added) tokens other than end-of-generation are never allowed.
  explicit JsonTokenMask(const Tokenizer& tok);

  std::string_view bytes(int32_t id) const {
    return {buf_.data() + off_[static_cast<size_t>(id)], off_[static_cast<size_t>(id) + 1] - off_[static_cast<size_t>(id)]};
  }
  // Sets logits[id] = -inf for every token the recognizer rejects (and ids past the vocabulary);
  // returns how many tokens stay allowed. Throws Error for fewer logits than tokens.
  size_t apply(const JsonRecognizer& rec, std::span<float> logits) const;
  size_t apply(const JsonSchemaRecognizer& rec, std::span<float> logits) const;  // (json_schema_recognizer.h)

 private:
  template <class Recognizer>
  size_t apply_impl(const Recognizer& rec, std::span<float> logits) const;

  // kPlain: text that, from inside a string's content, is accepted and stays inside the string
  // (decided once here, so the mask skips walking it there).
  enum Kind : uint8_t { kNever, kText, kPlain, kEog };
  std::string buf_;             // all token bytes, concatenated
  std::vector<uint32_t> off_;   // [n + 1] offsets into buf_
  std::vector<uint8_t> kind_;   // Kind per id
  std::vector<uint32_t> plain_chars_;  // per id: characters a kPlain token adds to a string
  std::vector<int32_t> order_;  // text ids sorted by bytes
  std::vector<uint32_t> end1_, end2_;  // per order_ index: end of its first-byte / first-two-bytes group
  std::vector<int32_t> other_;  // never-allowed and end-of-generation ids
  mutable std::vector<uint8_t> scratch_;  // apply()'s two-byte table (one mask per session: not shared across threads)
};

}  // namespace smolvlm
