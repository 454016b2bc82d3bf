// Token sampling with Ollama's options (see ollama-contract.md §1.5): repeat / presence / frequency
// penalties over the last repeat_last_n tokens, then top_k, top_p, min_p, temperature and a seeded
// draw. temperature <= 0 is greedy (argmax, lowest id wins ties). Same seed and same inputs give the
// same tokens on the same machine.
//
// Step order. Since v0.30 Ollama runs GGUF models in llama-server, so what Ollama users get is
// llama.cpp's default sampler chain (with DRY, typical_p, XTC and top-n-sigma off):
//   1. penalties: for each distinct token t in the window (the last repeat_last_n tokens of history,
//      the whole history for -1, none for 0) seen c times: logit > 0 ? logit / repeat_penalty
//      : logit * repeat_penalty, then logit -= c * frequency_penalty + presence_penalty.
//   2. temperature <= 0: argmax of the penalized logits (lowest id wins ties); no RNG draw.
//   3. top_k (k > 0): keep the k largest logits.
//   4. top_p (< 1): softmax of the *untempered* logits; keep the shortest prefix of the sorted
//      tokens whose probability sum reaches top_p (at least one token).
//   5. min_p (> 0): keep tokens with p >= min_p * p_max (again at temperature 1).
//   6. temperature: softmax of logit / temperature over the survivors; one uniform draw.
// As in llama.cpp, temperature does not change which tokens top_p / min_p keep, only how the
// survivors are weighted. (Ollama's older Go sampler applied temperature before top_p / min_p.)
//
// Determinism: ties in every sort are broken by lower id, so the candidate order is unique and the
// result does not depend on the standard library. The RNG is xoshiro256** seeded through splitmix64
// from seed (>= 0) or std::random_device (< 0); each non-greedy sample() uses exactly one 64-bit
// output (a double from its top 53 bits). NaN logits count as -inf; if every logit is -inf the
// result is token 0; +inf logits win outright (the lowest such id).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace smolvlm {

struct SamplerParams {
  float temperature = 0.8f;
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.9f;           // >= 1: off
  float min_p = 0.0f;           // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off (<= 0 or not finite: treated as off)
  int32_t repeat_last_n = 64;   // 0: off; -1: the whole context
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int64_t seed = -1;            // < 0: random
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p);
  const SamplerParams& params() const { return p_; }
  // Picks the next token from one row of logits given the tokens seen so far (prompt and generated,
  // oldest first; only the last repeat_last_n are penalized). Does not modify `logits`.
  // Throws smolvlm::Error for an empty row. History ids outside the row are ignored.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  // Extra (tests, logprobs): the tokens sample() may return for these inputs and their
  // probabilities (summing to 1), in draw order, after every step but the draw. temperature <= 0
  // and the degenerate cases give one token with p = 1. Uses no randomness.
  struct Candidate {
    int32_t id;
    double p;
  };
  std::vector<Candidate> distribution(std::span<const float> logits,
                                      std::span<const int32_t> history);
  // Extra: step 1 alone, in place; a penalized entry that comes out NaN (inf - inf) becomes -inf.
  static void apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                              const SamplerParams& p);

 private:
  struct Token {
    float logit;  // penalized
    int32_t id;
  };
  // Steps 1-5: fills cand_ with the drawable tokens in draw order and weight_ with their
  // unnormalized tempered weights; returns the weights' sum. Greedy and degenerate rows leave
  // one candidate of weight 1.
  double prepare(std::span<const float> logits, std::span<const int32_t> history);
  uint64_t next_u64();            // one xoshiro256** step
  double next_unit();             // uniform in [0, 1) from the top 53 bits of next_u64()

  SamplerParams p_;
  uint64_t rng_state_[4];         // xoshiro256** (fixed algorithm: reproducible everywhere)
  std::vector<float> work_;       // scratch: penalized logits
  std::vector<Token> cand_;       // scratch: candidates
  std::vector<double> weight_;    // scratch: candidate weights
};

}  // namespace smolvlm
