// DecodeBatcher: four sessions on four threads share one model, pool and batcher; each generates 24
// greedy tokens for its own golden prompt. The replies equal those of sessions running alone
// (quantized weights: batched decode is bit-identical, test_text_decode_batch.cpp), the steps were
// really batched (fewer passes than steps), and a session joining and leaving mid-way (different
// prompt lengths and reply lengths) never stalls the others.
#include <gtest/gtest.h>

#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>

#include "runtime/decode_batcher.h"
#include "runtime/session.h"
#include "support/testing.h"
#include "test_text_model_util.h"

namespace smolvlm {
namespace {

using testing::load_npy;
using testing::text::golden;

GenerateOptions greedy(int64_t n) {
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.num_predict = n;
  return o;
}

TEST(DecodeBatcher, ParallelSessionsReplyAsAloneInFewerPasses) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  const auto model = LoadedModel::load(golden("tiny512", "gguf/text-Q8_0.gguf"), "");
  constexpr int kSeq = 4;
  std::vector<std::vector<int32_t>> prompts, alone(kSeq), together(kSeq);
  for (int k = 0; k < kSeq; ++k)
    prompts.push_back(load_npy(golden("tiny512", "inputs/prompt_" + std::to_string(k) + ".npy")).i32());
  const int64_t lengths[kSeq] = {24, 24, 9, 17};  // two sessions leave early
  {
    kernels::ThreadPool pool(2);
    for (int k = 0; k < kSeq; ++k) {
      Session s(model, {}, pool);
      alone[k] = s.generate(prompts[k], greedy(lengths[k]), [](std::string_view) { return true; }).tokens;
    }
  }
  kernels::ThreadPool pool(2);
  // A pass waits for every decoding session (however loaded the machine is), so batching happens
  // whenever two sessions decode at the same time.
  auto batcher = std::make_shared<DecodeBatcher>(model, pool, kSeq, std::chrono::seconds(10));
  SessionOptions o;
  o.batcher = batcher;
  std::vector<std::thread> threads;
  std::latch ready(kSeq);  // all sessions built (KV caches allocated) before any generates
  // Each session's first piece of text waits (up to 10 s) until every session has one: all four are
  // then decoding, so however the machine schedules the threads, their steps meet in passes.
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  for (int k = 0; k < kSeq; ++k) {
    threads.emplace_back([&, k] {
      Session s(model, o, pool);
      ready.arrive_and_wait();
      bool first = true;
      together[k] = s.generate(prompts[k], greedy(lengths[k]), [&](std::string_view) {
                       if (first) {
                         first = false;
                         std::unique_lock<std::mutex> lock(m);
                         ++arrived;
                         cv.notify_all();
                         cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived >= kSeq; });
                       }
                       return true;
                     }).tokens;
    });
  }
  for (auto& t : threads) t.join();
  for (int k = 0; k < kSeq; ++k) EXPECT_EQ(together[k], alone[k]) << "sequence " << k;
  const double mean = static_cast<double>(batcher->steps()) / static_cast<double>(batcher->passes());
  std::printf("  %llu decode steps in %llu passes (mean batch %.2f)\n",
              static_cast<unsigned long long>(batcher->steps()), static_cast<unsigned long long>(batcher->passes()),
              mean);
  uint64_t want_steps = 0;
  for (int k = 0; k < kSeq; ++k) want_steps += static_cast<uint64_t>(lengths[k] - 1);  // no decode after the last
  EXPECT_EQ(batcher->steps(), want_steps);
  EXPECT_LT(batcher->passes(), batcher->steps());
}

TEST(DecodeBatcher, ASessionOfAnotherPoolIsRefused) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  const auto model = LoadedModel::load(golden("tiny512", "gguf/text-Q8_0.gguf"), "");
  kernels::ThreadPool pool(1), other(1);
  SessionOptions o;
  o.batcher = std::make_shared<DecodeBatcher>(model, pool, 2);
  EXPECT_THROW(Session(model, o, other), Error);
}

}  // namespace
}  // namespace smolvlm
