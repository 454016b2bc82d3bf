#include "tokenizer/bpe.h"

#include <algorithm>
#include <bit>

namespace smolvlm::tok {

MergeTable::MergeTable(size_t n_merges) {
  // Load factor <= 1/2.
  const size_t cap = std::max<size_t>(16, std::bit_ceil(n_merges * 2 + 1));
  slots_.resize(cap);
  mask_ = cap - 1;
  shift_ = 64 - std::countr_zero(cap);
}

bool MergeTable::insert(int32_t left, int32_t right, Merge m) {
  const uint64_t key = pack(left, right);
  size_t i = slot(key);
  while (slots_[i].key != kEmpty) {
    if (slots_[i].key == key) return false;
    i = (i + 1) & mask_;
  }
  if ((size_ + 1) * 2 > slots_.size()) {  // grow and retry (only if constructed too small)
    MergeTable bigger(slots_.size());
    for (const Slot& s : slots_) {
      if (s.key != kEmpty) bigger.insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key), s.merge);
    }
    *this = std::move(bigger);
    return insert(left, right, m);
  }
  slots_[i] = {key, m};
  ++size_;
  return true;
}

void bpe_merge(const MergeTable& merges, std::span<const int32_t> symbols, std::vector<int32_t>& out,
               BpeScratch& scratch) {
  const auto n = static_cast<int32_t>(symbols.size());
  if (n < 2) {
    out.insert(out.end(), symbols.begin(), symbols.end());
    return;
  }
  auto& sym = scratch.sym;
  auto& heap = scratch.heap;
  sym.resize(symbols.size());
  heap.clear();
  // Min-heap on (rank, position).
  const auto later = [](const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  for (int32_t i = 0; i < n; ++i) sym[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1};
  for (int32_t i = 0; i + 1 < n; ++i) {
    if (const auto* m = merges.find(symbols[i], symbols[i + 1])) heap.push_back({m->rank, i, m->merged});
  }
  std::make_heap(heap.begin(), heap.end(), later);

  constexpr int32_t kDead = -1;  // a merged-away symbol gets id -1
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const BpeScratch::Candidate top = heap.back();
    heap.pop_back();
    auto& left = sym[top.pos];
    if (left.id == kDead || left.next < 0) continue;
    const int32_t r = left.next;
    const auto* m = merges.find(left.id, sym[r].id);
    if (m == nullptr || m->merged != top.merged) continue;  // stale: the neighbours changed
    left.id = top.merged;
    left.next = sym[r].next;
    sym[r].id = kDead;
    if (left.next >= 0) sym[left.next].prev = top.pos;
    if (left.prev >= 0) {
      if (const auto* pm = merges.find(sym[left.prev].id, left.id)) {
        heap.push_back({pm->rank, left.prev, pm->merged});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
    if (left.next >= 0) {
      if (const auto* nm = merges.find(left.id, sym[left.next].id)) {
        heap.push_back({nm->rank, top.pos, nm->merged});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace smolvlm::tok
