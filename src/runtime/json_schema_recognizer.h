// Byte-level recognizer of JSON text that matches a compiled JsonSchema: a small set of live
// threads (one per anyOf / type alternative still possible), each a stack of object / array
// frames over the schema's nodes plus the lexer of the scalar being read (a JsonRecognizer for
// strings, numbers, literals and free-form values; a sorted-range matcher for enum / const; a
// candidate bit set for property keys). All state is fixed-size, so copies (one per token the
// mask tests) never allocate.
//
//   auto schema = JsonSchema::compile(j);
//   JsonSchemaRecognizer rec(*schema);   // the schema must outlive rec
//   mask.apply(rec, logits); rec.advance(mask.bytes(id)); if (rec.done()) stop;
//
// Limits: kMaxFrames nested objects / arrays that the schema describes (free-form values nest up
// to JsonRecognizer::kMaxDepth inside), kMaxThreads live alternatives (more are dropped), runs
// of at most max_ws whitespace bytes between tokens.
#pragma once

#include <cstdint>
#include <string_view>

#include "runtime/json_constraint.h"
#include "runtime/json_schema.h"

namespace smolvlm {

class JsonSchemaRecognizer {
 public:
  static constexpr int kMaxFrames = 32;
  static constexpr int kMaxThreads = 8;

  explicit JsonSchemaRecognizer(const JsonSchema& schema, int max_ws = JsonRecognizer::kDefaultMaxWs);
  JsonSchemaRecognizer(const JsonSchemaRecognizer& o) { *this = o; }
  JsonSchemaRecognizer& operator=(const JsonSchemaRecognizer& o);  // copies only the live threads

  bool accepts(std::string_view bytes) const {
    JsonSchemaRecognizer copy = *this;
    return copy.feed(bytes);
  }
  // Consumes bytes; throws Error (state unchanged) if they are rejected.
  void advance(std::string_view bytes);
  // A value matching the schema has been read (a top-level number may still grow).
  bool complete() const;
  // A matching value is closed: nothing but whitespace may follow.
  bool done() const;
  // See JsonRecognizer::plain_room: -1 unless every thread is inside a string's content, then
  // the most characters any of them allows (plain text of more is rejected by all).
  int64_t plain_room() const;

 private:
  enum Mode : uint8_t { kValue, kLeaf, kLiteral, kKey, kFrame, kDone };
  enum Phase : uint8_t { kOpen, kNext, kColon, kColonExtra, kAfter };  // kNext: after an object's comma
  struct Frame {
    uint16_t node;
    Phase phase;
    uint32_t n;  // array: items begun; object: properties before n are done or skipped
  };
  struct Thread {
    Mode mode = kValue;
    uint8_t depth = 0;    // frames in use
    uint8_t ws = 0;       // whitespace run
    bool generic = false; // kKey: may also be an additional property's key (read by lex)
    int32_t want = 0;     // kValue: the node expected; kLeaf / kLiteral: the node being read
    uint32_t lo = 0, hi = 0, pos = 0;  // kLiteral: candidates [lo, hi), bytes matched; kKey: pos
    uint64_t keys = 0, known = 0;      // kKey: allowed / all property keys still matching
    JsonRecognizer lex = JsonRecognizer(JsonKind::kAny);
    Frame frames[kMaxFrames];
  };

  bool feed(std::string_view bytes);
  bool step(uint8_t c);
  // Per thread: false when thread t dies on c. May append threads (already past c).
  bool on_byte(int t, uint8_t c);
  bool begin_value(int t, int32_t node, uint8_t c);  // node: a union or not
  bool begin_one(int t, int32_t node, uint8_t c);    // node: not a union
  bool leaf_byte(int t, uint8_t c);
  bool literal_byte(int t, uint8_t c);
  bool key_byte(int t, uint8_t c);
  bool frame_byte(int t, uint8_t c);
  void start_key(Thread& th);
  void finish_value(Thread& th);
  bool push(Thread& th, int32_t node);
  void expect_item(Thread& th);  // array frame: the next item's value follows

  const JsonSchema* schema_ = nullptr;
  uint8_t max_ws_ = 0;
  uint8_t n_ = 0;        // live threads
  uint32_t dead_ = 0;    // step(): threads appended then found dead
  Thread threads_[kMaxThreads];
};

}  // namespace smolvlm
