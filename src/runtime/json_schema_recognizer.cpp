#include "runtime/json_schema_recognizer.h"

#include <algorithm>
#include <bit>
#include <type_traits>

#include "base/error.h"

namespace smolvlm {
namespace {
bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
}  // namespace

JsonSchemaRecognizer::JsonSchemaRecognizer(const JsonSchema& schema, int max_ws)
    : schema_(&schema), max_ws_(static_cast<uint8_t>(std::clamp(max_ws, 0, 255))), n_(1) {
  threads_[0] = Thread{};
  threads_[0].want = schema.root();
}

JsonSchemaRecognizer& JsonSchemaRecognizer::operator=(const JsonSchemaRecognizer& o) {
  static_assert(std::is_trivially_copyable_v<Thread>, "a copy must not allocate");
  schema_ = o.schema_;
  max_ws_ = o.max_ws_;
  n_ = o.n_;
  std::copy(o.threads_, o.threads_ + o.n_, threads_);
  return *this;
}

void JsonSchemaRecognizer::advance(std::string_view bytes) {
  JsonSchemaRecognizer next = *this;
  if (!next.feed(bytes))
    fail("JSON schema constraint: the bytes \"", bytes, "\" do not continue a value matching the schema");
  *this = next;
}

bool JsonSchemaRecognizer::complete() const {
  for (int t = 0; t < n_; ++t) {
    const Thread& th = threads_[t];
    if (th.mode == kDone) return true;
    if (th.depth != 0) continue;
    if (th.mode == kLeaf && th.lex.complete()) return true;
    if (th.mode == kLiteral && schema_->node(th.want).literals[th.lo].size() == th.pos) return true;
  }
  return false;
}

bool JsonSchemaRecognizer::done() const {
  for (int t = 0; t < n_; ++t)
    if (threads_[t].mode == kDone) return true;
  return false;
}

int64_t JsonSchemaRecognizer::plain_room() const {
  int64_t room = -1;
  for (int t = 0; t < n_; ++t) {
    const Thread& th = threads_[t];
    if (th.mode != kLeaf || !th.lex.in_string_body()) return -1;  // (then plain text may go elsewhere)
    const SchemaNode& n = schema_->node(th.want);
    const int64_t r = n.leaf == JsonKind::kString && n.max_length != UINT32_MAX
                          ? static_cast<int64_t>(n.max_length) - th.lex.chars()
                          : INT64_MAX;
    room = std::max(room, r);
  }
  return room;
}

bool JsonSchemaRecognizer::feed(std::string_view bytes) {
  for (const char ch : bytes)
    if (!step(static_cast<uint8_t>(ch))) return false;
  return true;
}

bool JsonSchemaRecognizer::step(uint8_t c) {
  const int n0 = n_;
  dead_ = 0;
  for (int t = 0; t < n0; ++t)
    if (!on_byte(t, c)) dead_ |= 1u << t;
  int w = 0;
  for (int t = 0; t < n_; ++t) {
    if ((dead_ >> t) & 1) continue;
    if (w != t) threads_[w] = threads_[t];
    ++w;
  }
  n_ = static_cast<uint8_t>(w);
  return n_ > 0;
}

bool JsonSchemaRecognizer::on_byte(int t, uint8_t c) {
  Thread& th = threads_[t];
  if (th.mode == kValue || th.mode == kFrame || th.mode == kDone) {  // between tokens
    if (is_ws(c)) return ++th.ws <= max_ws_;
    th.ws = 0;
  }
  switch (th.mode) {
    case kValue: return begin_value(t, th.want, c);
    case kLeaf: return leaf_byte(t, c);
    case kLiteral: return literal_byte(t, c);
    case kKey: return key_byte(t, c);
    case kFrame: return frame_byte(t, c);
    case kDone: return false;
  }
  return false;
}

// A value of `node` starts with c: one thread per alternative (the extra ones appended).
bool JsonSchemaRecognizer::begin_value(int t, int32_t node, uint8_t c) {
  const auto alts = schema_->alternatives(node);
  for (size_t i = 1; i < alts.size() && n_ < kMaxThreads; ++i) {
    const int u = n_++;
    threads_[u] = threads_[t];
    if (!begin_one(u, alts[i], c)) dead_ |= 1u << u;
  }
  return begin_one(t, alts[0], c);
}

bool JsonSchemaRecognizer::begin_one(int t, int32_t node, uint8_t c) {
  Thread& th = threads_[t];
  const SchemaNode& n = schema_->node(node);
  th.want = node;
  switch (n.kind) {
    case SchemaNode::kLeaf:
      th.mode = kLeaf;
      th.lex = JsonRecognizer(n.leaf, max_ws_);
      return leaf_byte(t, c);
    case SchemaNode::kLiterals:
      th.mode = kLiteral;
      th.lo = 0;
      th.hi = static_cast<uint32_t>(n.literals.size());
      th.pos = 0;
      return literal_byte(t, c);
    case SchemaNode::kObject: return c == '{' && push(th, node);
    case SchemaNode::kArray: return c == '[' && push(th, node);
    case SchemaNode::kUnion: return false;  // (flattened away by alternatives())
  }
  return false;
}

bool JsonSchemaRecognizer::push(Thread& th, int32_t node) {
  if (th.depth >= kMaxFrames) return false;
  th.frames[th.depth++] = Frame{static_cast<uint16_t>(node), kOpen, 0};
  th.mode = kFrame;
  return true;
}

void JsonSchemaRecognizer::finish_value(Thread& th) { th.mode = th.depth == 0 ? kDone : kFrame; }

bool JsonSchemaRecognizer::leaf_byte(int t, uint8_t c) {
  Thread& th = threads_[t];
  const SchemaNode& n = schema_->node(th.want);
  if (n.leaf == JsonKind::kString && th.lex.in_string_body()) {
    // c closes the string, or starts one more character.
    if (c == '"' ? th.lex.chars() < n.min_length : th.lex.chars() >= n.max_length) return false;
  }
  switch (th.lex.step_embedded(c)) {
    case JsonRecognizer::Step::kRejected: return false;
    case JsonRecognizer::Step::kEnded:  // a number ended: c belongs to what follows
      finish_value(th);
      return on_byte(t, c);
    case JsonRecognizer::Step::kTaken:
      if (th.lex.done()) finish_value(th);
      return true;
  }
  return false;
}

// Candidates [lo, hi) of the sorted literals share their first pos bytes, so those going on
// with c are contiguous. A literal that is complete while c continues none has ended before c
// (only numbers can be prefixes of other literals, and nothing after a value continues them).
bool JsonSchemaRecognizer::literal_byte(int t, uint8_t c) {
  Thread& th = threads_[t];
  const std::vector<std::string>& lits = schema_->node(th.want).literals;
  const uint32_t p = th.pos;
  auto goes_on = [&](uint32_t i) { return lits[i].size() > p && static_cast<uint8_t>(lits[i][p]) == c; };
  uint32_t a = th.lo;
  while (a < th.hi && !goes_on(a)) ++a;
  if (a == th.hi) {
    if (lits[th.lo].size() != p) return false;
    finish_value(th);
    return on_byte(t, c);
  }
  uint32_t b = a + 1;
  while (b < th.hi && goes_on(b)) ++b;
  th.lo = a;
  th.hi = b;
  th.pos = p + 1;
  if (b == a + 1 && lits[a].size() == p + 1) finish_value(th);  // the only candidate is complete
  return true;
}

void JsonSchemaRecognizer::start_key(Thread& th) {
  const Frame& f = th.frames[th.depth - 1];
  const SchemaNode& n = schema_->node(f.node);
  const auto np = static_cast<uint32_t>(n.literals.size());
  th.keys = 0;
  if (f.n < n.n_required) th.keys = 1ull << f.n;  // required ones: the next, in order
  else
    for (uint32_t i = f.n; i < np; ++i) th.keys |= 1ull << i;  // optional ones: any later one
  th.generic = n.extra >= 0 && f.n >= n.n_required;             // additional ones: after those
  th.known = th.generic ? (np == 64 ? ~0ull : (1ull << np) - 1) : 0;
  if (th.generic) th.lex = JsonRecognizer(JsonKind::kString, max_ws_);
  th.pos = 0;
  th.mode = kKey;
}

// A property key: its JSON text is one of the allowed keys' literals, or (additionalProperties)
// any string that is none of the schema's property names.
bool JsonSchemaRecognizer::key_byte(int t, uint8_t c) {
  Thread& th = threads_[t];
  Frame& f = th.frames[th.depth - 1];
  const SchemaNode& n = schema_->node(f.node);
  const uint32_t p = th.pos++;
  uint64_t keys = 0, known = 0;
  int matched = -1;
  bool known_done = false;
  for (uint64_t m = th.keys | th.known; m != 0; m &= m - 1) {
    const int i = std::countr_zero(m);
    const std::string& k = n.literals[static_cast<size_t>(i)];
    if (p >= k.size() || static_cast<uint8_t>(k[p]) != c) continue;
    const uint64_t bit = 1ull << i;
    const bool full = p + 1 == k.size();
    if (th.keys & bit) {
      keys |= bit;
      if (full) matched = i;
    }
    if (th.known & bit) {
      known |= bit;
      known_done |= full;
    }
  }
  if (matched >= 0) {
    f.n = static_cast<uint32_t>(matched) + 1;
    f.phase = kColon;
    th.mode = kFrame;
    return true;
  }
  if (th.generic) {
    if (th.lex.step_embedded(c) != JsonRecognizer::Step::kTaken) {
      th.generic = false;
    } else if (th.lex.done()) {
      if (known_done) return false;  // a property name, but not one allowed here
      f.n = static_cast<uint32_t>(n.literals.size());
      f.phase = kColonExtra;
      th.mode = kFrame;
      return true;
    }
  }
  th.keys = keys;
  th.known = known;
  return keys != 0 || th.generic;
}

void JsonSchemaRecognizer::expect_item(Thread& th) {
  Frame& f = th.frames[th.depth - 1];
  const SchemaNode& n = schema_->node(f.node);
  th.want = f.n < n.children.size() ? n.children[f.n] : n.extra;
  ++f.n;
  f.phase = kAfter;
  th.mode = kValue;
}

bool JsonSchemaRecognizer::frame_byte(int t, uint8_t c) {
  Thread& th = threads_[t];
  Frame& f = th.frames[th.depth - 1];
  const SchemaNode& n = schema_->node(f.node);
  auto close = [&] {
    --th.depth;
    finish_value(th);
    return true;
  };
  if (n.kind == SchemaNode::kObject) {
    const bool more_keys = f.n < n.literals.size() || n.extra >= 0;
    switch (f.phase) {
      case kOpen:
        if (c == '}' && n.n_required == 0) return close();
        [[fallthrough]];
      case kNext:
        if (c != '"') return false;
        start_key(th);
        return key_byte(t, c);
      case kColon:
      case kColonExtra:
        if (c != ':') return false;
        th.want = f.phase == kColon ? n.children[f.n - 1] : n.extra;
        f.phase = kAfter;
        th.mode = kValue;
        return true;
      case kAfter:
        if (c == ',' && more_keys) {
          f.phase = kNext;
          return true;
        }
        if (c == '}' && f.n >= n.n_required) return close();
        return false;
    }
    return false;
  }
  // An array.
  const bool can_add = f.n < n.max_items && (f.n < n.children.size() || n.extra >= 0);
  const bool can_close = f.n >= n.min_items && f.n >= n.children.size();
  if (f.phase == kOpen) {
    if (c == ']') return can_close && close();
    if (!can_add) return false;
    expect_item(th);
    return on_byte(t, c);
  }
  if (c == ',' && can_add) {
    expect_item(th);
    return true;
  }
  if (c == ']' && can_close) return close();
  return false;
}

}  // namespace smolvlm
