// libFuzzer target: GgufFile::parse must accept or throw smolvlm::Error on any input, never crash,
// and every tensor view it hands out must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const smolvlm::GgufFile f = smolvlm::GgufFile::parse({data, size}, "fuzz.gguf");
    uint64_t sum = 0;
    for (const auto& kv : f.metadata()) sum += kv.value.to_string(4).size();
    for (const auto& t : f.tensors()) {
      const auto d = f.tensor_data(t);
      if (d.data() < data || d.data() + d.size() > data + size) std::abort();
      if (!d.empty()) sum += d[0] + d[d.size() - 1];  // touch both ends (ASan checks the bounds)
    }
    if (sum == 0xFFFFFFFFFFFFFFFFull) std::abort();  // keep `sum` alive
  } catch (const smolvlm::Error&) {
  }
  return 0;
}
