#include "cli/model_conversion.h"

#include <cstdio>

#include "base/error.h"
#include "convert/hf_convert.h"
#include "convert/quantize_model.h"
#include "convert/quantize_policy.h"

namespace smolvlm::cli {

void check_quant_type(const std::string& type) {
  if (!parse_quant_target(type)) fail("unknown quantization type '", type, "' (use one of ", quant_target_list(), ")");
}

void quantize_gguf(const std::string& in, const std::string& out, const std::string& type) {
  check_quant_type(type);
  const auto target = parse_quant_target(type);
  QuantizeOptions qo;
  qo.input = in;
  qo.output = out;
  qo.target = *target;
  qo.overwrite = true;
  quantize_model(qo);
}

std::vector<std::string> convert_checkpoint(const std::string& hf_dir, const std::string& quant, const std::string& work) {
  check_quant_type(quant);
  ConvertOptions co;
  co.hf_dir = hf_dir;
  co.out_dir = work;
  co.outtype = OutType::F16;
  co.force = true;
  const ConvertResult cr = convert_hf_checkpoint(co);
  std::string text = cr.text.path;
  if (*parse_quant_target(quant) != QuantTarget::F16) {
    std::fprintf(stderr, "quantizing to %s\n", quant.c_str());
    std::string base = text.substr(0, text.size() - 5);  // "<dir>/<name>-F16" from "….gguf"
    if (base.size() > 4 && base.compare(base.size() - 4, 4, "-F16") == 0) base.resize(base.size() - 4);
    const std::string out = base + "-" + quant + ".gguf";
    quantize_gguf(text, out, quant);
    text = out;
  }
  return {text, cr.mmproj.path};
}

}  // namespace smolvlm::cli
