// Byte-pair merging with Hugging Face `tokenizers` semantics (Word::merge_all): a priority queue of
// adjacent pairs, lowest merge rank first, ties to the leftmost position; a popped pair is applied
// only if the two symbols at that position still merge into the same token.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace smolvlm::tok {

// (left id, right id) -> (rank, merged id), open addressing.
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  explicit MergeTable(size_t n_merges = 0);
  // False (and nothing changes) when the pair is already present: the first rank is kept.
  bool insert(int32_t left, int32_t right, Merge m);
  const Merge* find(int32_t left, int32_t right) const {
    const uint64_t key = pack(left, right);
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.merge;
      if (s.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

// Reusable buffers of bpe_merge (one per thread / call).
struct BpeScratch {
  struct Symbol {
    int32_t id, prev, next;
  };
  struct Candidate {
    int32_t rank, pos, merged;
  };
  std::vector<Symbol> sym;
  std::vector<Candidate> heap;
};

// Merges the symbol ids of one word and appends the resulting ids to `out`.
void bpe_merge(const MergeTable& merges, std::span<const int32_t> symbols, std::vector<int32_t>& out,
               BpeScratch& scratch);

}  // namespace smolvlm::tok
