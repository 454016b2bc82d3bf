// libFuzzer target: SafetensorsFile::parse must accept or throw smolvlm::Error on any input, never
// crash; tensor views must lie inside the input and float conversion must respect them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const smolvlm::SafetensorsFile f = smolvlm::SafetensorsFile::parse({data, size}, "fuzz.safetensors");
    for (const auto& t : f.tensors()) {
      if (t.data.data() < data || t.data.data() + t.data.size() > data + size) std::abort();
      if (t.data.size() <= (1u << 16)) {
        try {
          (void)smolvlm::safetensors_to_f32(t);
        } catch (const smolvlm::Error&) {
        }
      }
    }
  } catch (const smolvlm::Error&) {
  }
  return 0;
}
